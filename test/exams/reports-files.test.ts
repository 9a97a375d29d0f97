// Report files and crash safety: a scanned report kept as it came (size, SHA-256, synced before the document
// names it) and refused when it is not what it claims or too big; a file changed on disk is not served; and a
// hub that stopped between the report's write and the exam's finishes the exam step when it starts again.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import jpeg from 'jpeg-js';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { InvalidInputError, ReportRefusedError } from '../../exams/errors.ts';
import type { Exam } from '../../exams/exam.ts';
import { AttachmentTooLargeError, checkUpload, sniffType } from '../../exams/report-files.ts';
import { ExamService } from '../../exams/service.ts';
import type { HubCollection } from '../../store/db.ts';
import { orderedExam } from './report-setup.ts';
import { facilitiesDir, openTestHub, quietLog } from './setup.ts';

const radiologist = { actor: 'rad-chen', via: 'admin-ui' } as const;

async function scannedPdf(text = 'Scanned report: no acute findings'): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  const page = pdf.addPage([595, 842]);
  page.drawText(text, { x: 50, y: 780, size: 12, font: await pdf.embedFont(StandardFonts.Helvetica) });
  return pdf.save();
}

test('content is sniffed: PDF, TIFF and JPEG pass, a corrupt PDF, a cut JPEG and other bytes do not', async (t) => {
  const pdf = await scannedPdf();
  t.is(await checkUpload(pdf, 1 << 20), 'application/pdf');
  const image = jpeg.encode({ data: Buffer.alloc(8 * 8 * 4, 200), width: 8, height: 8 }, 80).data;
  t.is(await checkUpload(image, 1 << 20, 'image/jpeg'), 'image/jpeg');
  t.is(sniffType(Buffer.from('49492a0008000000', 'hex')), 'image/tiff');
  t.is(sniffType(Buffer.from('4d4d002a00000008', 'hex')), 'image/tiff');
  const corrupt = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(200, 0x41)]);
  await t.throwsAsync(checkUpload(corrupt, 1 << 20), { instanceOf: InvalidInputError, message: /PDF cannot be read/ });
  await t.throwsAsync(checkUpload(image.subarray(0, image.length - 100), 1 << 20), { message: /cut short/ });
  await t.throwsAsync(checkUpload(Buffer.from('<html>'), 1 << 20), { message: /expected a PDF, TIFF or JPEG/ });
  await t.throwsAsync(checkUpload(pdf, 1 << 20, 'image/tiff'), { message: /is application\/pdf, not image\/tiff/ });
  const error = await t.throwsAsync(checkUpload(pdf, 100), { instanceOf: AttachmentTooLargeError });
  t.is(error?.limit, 100);
});

test('an uploaded scan is kept as it came, becomes the document, and is refused once changed on disk', async (t) => {
  const { exams, dataDir } = await openTestHub(t);
  const exam = await orderedExam(exams, 'RF1');
  const draft = await exams.reports.create({ examNumber: exam.examNumber }, radiologist);
  const pdf = await scannedPdf();
  const attached = await exams.reports.attach(draft._id, { bytes: pdf, title: 'scan.pdf' }, radiologist);
  const file = attached.attachments[0]!;
  t.like(file, { contentType: 'application/pdf', title: 'scan.pdf', size: pdf.length, rendered: false });
  t.is(attached.documentId, file.id);
  t.is(file.path, `reports/${draft._id}/${file.id}`);
  t.deepEqual(new Uint8Array(await readFile(path.join(dataDir, file.path))), pdf);
  t.is(attached.outbox.at(-1)?.type, 'report.saved');
  // A scan is enough content to sign: no findings or impression typed.
  const signed = await exams.reports.sign(draft._id, { author: 'rad-chen' }, radiologist);
  t.is(signed.documentId, file.id);
  const served = await exams.reports.document(draft._id);
  t.deepEqual(new Uint8Array(served.bytes), pdf);
  await t.throwsAsync(exams.reports.attach(draft._id, { bytes: pdf }, radiologist), {
    instanceOf: ReportRefusedError,
    message: /only by amendment/,
  });
  const changed = Buffer.from(pdf);
  changed[changed.length - 10] = (changed[changed.length - 10] ?? 0) ^ 0xff;
  await writeFile(path.join(dataDir, file.path), changed);
  await t.throwsAsync(exams.reports.document(draft._id), { message: /does not match its record/ });
});

test('an upload over the limit is refused before anything is written', async (t) => {
  const { exams } = await openTestHub(t);
  const exam = await orderedExam(exams, 'RF2');
  const draft = await exams.reports.create({ examNumber: exam.examNumber }, radiologist);
  const big = new Uint8Array(exams.reports.files!.maxBytes + 1);
  big.set(Buffer.from('%PDF-1.7'));
  await t.throwsAsync(exams.reports.attach(draft._id, { bytes: big }, radiologist), {
    instanceOf: AttachmentTooLargeError,
  });
  t.deepEqual((await exams.reports.require(draft._id)).attachments, []);
});

test('a stop between the report write and the exam write is finished when the service starts again', async (t) => {
  const { exams, store, dataDir } = await openTestHub(t);
  const exam = await orderedExam(exams, 'RF3');
  const draft = await exams.reports.create({ examNumber: exam.examNumber, impression: 'Normal.' }, radiologist);
  // The exam write fails as if the process had died right after the report's write landed.
  const realCollection = store.db.collection.bind(store.db);
  let crash = true;
  store.db.collection = ((name: string) => {
    const collection = realCollection(name);
    if (name !== 'exams') return collection;
    return new Proxy(collection, {
      get(target, key, receiver) {
        if (key === 'updateOne' && crash)
          return async () => {
            throw new Error('simulated crash');
          };
        const value = Reflect.get(target, key, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as unknown as HubCollection<Exam>;
  }) as typeof store.db.collection;
  await t.throwsAsync(exams.reports.sign(draft._id, { author: 'rad-chen' }, radiologist), {
    message: 'simulated crash',
  });
  crash = false;
  store.db.collection = realCollection;
  const halfway = await exams.reports.require(draft._id);
  t.is(halfway.state, 'final');
  t.is(halfway.pendingExam?.examStatus, 'final');
  t.is((await exams.require(exam.examNumber)).status, 'images-received');

  const restarted = new ExamService(store.db, { log: quietLog, outboxPollMs: 60_000, dataDir });
  await restarted.start();
  t.teardown(() => restarted.stop());
  await restarted.facilities.loadDir(facilitiesDir);
  const repaired = await restarted.require(exam.examNumber);
  t.is(repaired.status, 'final');
  t.deepEqual(
    repaired.reports.map((r) => [r.id, r.status]),
    [[draft._id, 'final']],
  );
  t.is((await restarted.reports.require(draft._id)).pendingExam, undefined);
  // Starting again changes nothing more: the step is keyed by the report version.
  const again = new ExamService(store.db, { log: quietLog, outboxPollMs: 60_000, dataDir });
  await again.start();
  t.teardown(() => again.stop());
  t.is((await again.require(exam.examNumber)).version, repaired.version);
});
