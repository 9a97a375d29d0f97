// One association per query from a process that is already running, as a modality's own software asks: the
// C-FIND (or C-ECHO) round trip over the wire without findscu's process start. dcmjs-dimse's Client, with Nagle
// off on its socket (LIBRARIES.md: with it on, each small PDU can wait ~40 ms for an ACK).
import dimse from 'dcmjs-dimse';

const { Client, requests, constants } = dimse;
// The library logs every PDU at info; a run of hundreds of associations would bury the bench's own lines.
dimse.log.setLevel('warn');

export interface WorklistKeys {
  modality: string;
  date: string;
  accession: string;
}

type DimseRequest = InstanceType<typeof requests.CEchoRequest> | InstanceType<typeof requests.CFindRequest>;

/** Association, the request, its answers, release; resolves with the number of pending answers. */
function run(port: number, callingAe: string, calledAe: string, request: DimseRequest): Promise<number> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let pending = 0;
    let failure: string | undefined;
    request.on('response', (response: { getStatus(): number }) => {
      const status = response.getStatus();
      if (status === constants.Status.Pending) pending++;
      else if (status !== constants.Status.Success) failure = `status 0x${status.toString(16)}`;
    });
    client.on('connected', () => {
      const socket = (client as unknown as { network?: { socket?: { setNoDelay(on: boolean): void } } }).network
        ?.socket;
      socket?.setNoDelay(true);
    });
    client.on('associationRejected', () => reject(new Error('association rejected')));
    client.on('networkError', (error: Error) => reject(error));
    client.on('closed', () => (failure === undefined ? resolve(pending) : reject(new Error(failure))));
    client.addRequest(request);
    client.send('127.0.0.1', port, callingAe, calledAe);
  });
}

export function echo(port: number, callingAe: string, calledAe: string): Promise<number> {
  return run(port, callingAe, calledAe, new requests.CEchoRequest());
}

export function worklistFind(port: number, callingAe: string, calledAe: string, keys: WorklistKeys): Promise<number> {
  const query = requests.CFindRequest.createWorklistFindRequest({
    AccessionNumber: keys.accession,
    PatientName: '',
    PatientID: '',
    StudyInstanceUID: '',
    RequestedProcedureDescription: '',
    RequestedProcedureID: '',
    ScheduledProcedureStepSequence: [
      {
        Modality: keys.modality,
        ScheduledStationAETitle: '',
        ScheduledProcedureStepStartDate: keys.date,
        ScheduledProcedureStepStartTime: '',
        ScheduledProcedureStepID: '',
      },
    ],
  });
  return run(port, callingAe, calledAe, query);
}
