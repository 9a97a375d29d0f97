// The part of dcmjs (a dependency of dcmjs-imaging, which ships no types for it) that the DICOMweb read side uses:
// Part-10 parsing into DICOM-JSON-shaped elements, and the data dictionary for keywords.
declare module 'dcmjs' {
  export interface DcmjsElement {
    vr: string;
    Value?: unknown[];
    InlineBinary?: string;
    BulkDataURI?: string;
  }
  export type DcmjsDict = Record<string, DcmjsElement>;
  export interface DcmjsFile {
    meta: DcmjsDict;
    dict: DcmjsDict;
  }
  export interface DictionaryEntry {
    tag: string;
    vr: string;
    name: string;
  }
  const dcmjs: {
    data: {
      DicomMessage: {
        readFile(
          buffer: ArrayBuffer,
          options?: { untilTag?: string; includeUntilTagValue?: boolean; ignoreErrors?: boolean },
        ): DcmjsFile;
      };
      DicomMetaDictionary: {
        nameMap: Record<string, DictionaryEntry | undefined>;
        dictionary: Record<string, DictionaryEntry | undefined>;
      };
    };
  };
  export default dcmjs;
}
