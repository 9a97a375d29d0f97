// dicomweb-client (the DICOMweb client OHIF uses) pointed at a hub, with the calls the DICOMweb tests make typed
// as it behaves: its own declarations mark every option object's `request` as required and return `any[]`.
import dicomweb from 'dicomweb-client';
import { installXmlHttpRequest } from '../support/xhr-shim.ts';

export type DicomJson = Record<string, { vr: string; Value?: unknown[]; BulkDataURI?: string; InlineBinary?: string }>;

interface Uids {
  studyInstanceUID: string;
  seriesInstanceUID?: string;
  sopInstanceUID?: string;
}

export interface ViewerClient {
  searchForStudies(options: { queryParams?: Record<string, string | number> }): Promise<DicomJson[]>;
  searchForSeries(options: Uids & { queryParams?: Record<string, string | number> }): Promise<DicomJson[]>;
  searchForInstances(options: Uids & { queryParams?: Record<string, string | number> }): Promise<DicomJson[]>;
  retrieveStudy(options: Uids): Promise<ArrayBuffer[]>;
  retrieveSeries(options: Uids): Promise<ArrayBuffer[]>;
  retrieveStudyMetadata(options: Uids): Promise<DicomJson[]>;
  retrieveInstanceFrames(options: Required<Uids> & { frameNumbers: string }): Promise<ArrayBuffer[]>;
  retrieveInstanceRendered(
    options: Required<Uids> & { mediaTypes?: Array<{ mediaType: string }>; queryParams?: Record<string, string> },
    // A single-part answer in an array buffer comes back as a one-element array (its _httpRequest).
  ): Promise<ArrayBuffer[]>;
}

export function viewerClient(baseUrl: string, token: string): ViewerClient {
  installXmlHttpRequest();
  return new dicomweb.api.DICOMwebClient({
    url: baseUrl,
    headers: { Authorization: `Bearer ${token}` },
    singlepart: false,
  }) as unknown as ViewerClient;
}
