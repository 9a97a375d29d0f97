// Reference row, not hub code: dcmjs-dimse 0.3.3's Scp subclassed the way its README suggests for big
// instances (createStoreWritableStream writes the Part-10 header and streams the data set to disk; the answer
// waits for 'finish'), with Nagle off. It shows what the hub's own upper layer (dicom/scp.ts) is measured
// against. No fsync, so compare it with the hub's "fsync off" row. argv: storageDir; prints {"port":N}.
import dimse from 'dcmjs-dimse';
import { createWriteStream } from 'node:fs';
import type { Socket } from 'node:net';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { buildFileMeta } from '../../dicom/part10.ts';
import { isStorageSopClass } from '../../dicom/sop-classes.ts';
import { freePort } from '../../test/support/hub-process.ts';

const { Scp, Server, constants, responses } = dimse;
type Association = Parameters<InstanceType<typeof Scp>['associationRequested']>[0];
type PresentationContext = Parameters<InstanceType<typeof Scp>['createStoreWritableStream']>[0];
type CStoreRequest = Parameters<InstanceType<typeof Scp>['createStoreWritableStream']>[1];
type CEchoRequest = Parameters<InstanceType<typeof Scp>['cEchoRequest']>[0];

const storageDir = process.argv[2];
if (storageDir === undefined) throw new Error('usage: dcmjs-scp-child.ts <storageDir>');
dimse.log.setLevel('error');
const uncompressed = new Set<string>([
  constants.TransferSyntax.ExplicitVRLittleEndian,
  constants.TransferSyntax.ImplicitVRLittleEndian,
]);

class StreamingScp extends Scp {
  #association: Association | undefined;

  constructor(socket: Socket, opts?: ConstructorParameters<typeof Scp>[1]) {
    super(socket, opts);
    socket.setNoDelay(true);
  }

  override associationRequested(association: Association): void {
    this.#association = association;
    for (const { context } of association.getPresentationContexts()) {
      const abstract = context.getAbstractSyntaxUid();
      const transferSyntax = context.getTransferSyntaxUids().find((ts) => uncompressed.has(ts));
      if (
        (abstract === constants.SopClass.Verification || isStorageSopClass(abstract)) &&
        transferSyntax !== undefined
      ) {
        context.setResult(constants.PresentationContextResult.Accept, transferSyntax);
      } else {
        context.setResult(constants.PresentationContextResult.RejectAbstractSyntaxNotSupported);
      }
    }
    this.sendAssociationAccept();
  }

  override cEchoRequest(
    request: CEchoRequest,
    callback: (response: InstanceType<typeof responses.CEchoResponse>) => void,
  ): void {
    const response = responses.CEchoResponse.fromRequest(request);
    response.setStatus(constants.Status.Success);
    callback(response);
  }

  override createStoreWritableStream(context: PresentationContext, request: CStoreRequest): Writable {
    const file = createWriteStream(path.join(storageDir!, `${request.getAffectedSopInstanceUid()}.dcm`));
    file.write(
      buildFileMeta({
        sopClassUid: request.getAffectedSopClassUid(),
        sopInstanceUid: request.getAffectedSopInstanceUid(),
        transferSyntaxUid: context.getAcceptedTransferSyntaxUid() ?? '',
        sourceAe: this.#association?.getCallingAeTitle() ?? '',
      }),
    );
    return file;
  }

  override createDatasetFromStoreWritableStream(
    writable: Writable,
    _context: PresentationContext,
    callback: (dataset: never) => void,
  ): void {
    // The library calls end(); the answer must wait until the bytes are in the file.
    writable.once('finish', () => callback(undefined as never));
  }

  override cStoreRequest(
    request: CStoreRequest,
    callback: (response: InstanceType<typeof responses.CStoreResponse>) => void,
  ): void {
    const response = responses.CStoreResponse.fromRequest(request);
    response.setStatus(constants.Status.Success);
    callback(response);
  }

  override associationReleaseRequested(): void {
    this.sendAssociationReleaseResponse();
  }
}

const port = await freePort();
const server = new Server(StreamingScp);
server.listen(port);
process.stdout.write(`${JSON.stringify({ port })}\n`);
process.once('SIGTERM', () => {
  server.close();
  process.exit(0);
});
