// The DICOM fixture corpus (issue 20, Tests): one instance in every transfer syntax the hub accepts, made with
// dcmtk from one template (test/fixtures/dicom/transfer-syntaxes.json says how, and what answer each must get),
// stored by storescu to the real hub process. Each stored file is compared byte for byte with what was sent:
// the hub keeps what it received, so only its own file meta header may differ.
import { execFile } from 'node:child_process';
import { inflateRawSync } from 'node:zlib';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { parseFileMeta } from '../../dicom/part10.ts';
import { setLogLevel } from '../../runtime/log.ts';
import { dcmtkEnv, missingBinaries } from '../dicom/peers.ts';
import { datasetOf, uid } from '../dicom/make-instance.ts';
import { repoRoot, startHub, stopHub, tempDir, waitHealthy, type HubProcess } from '../support/hub-process.ts';
import { dicomTestConfig, hubAe, valleyFacility } from './dicom-support.ts';

setLogLevel('error');

type Reference = 'sent' | 'base' | 'sent-inflated';

interface Case {
  name: string;
  frames?: number;
  make: string[][];
  jpeg2000?: { transferSyntax: string; opjCompress: string[] };
  storescu: string[];
  expect: { exitCode: number; response: string; storedTransferSyntax: string; dataset: Reference };
}

const fixtures = path.join(repoRoot, 'test', 'fixtures', 'dicom');
const manifest = JSON.parse(await readFile(path.join(fixtures, 'transfer-syntaxes.json'), 'utf8')) as { cases: Case[] };
const side = 64;

let hub: HubProcess;

test.before(async () => {
  const tools = ['storescu', 'dump2dcm', 'dcmconv', 'dcmcjpeg', 'dcmcjpls', 'dcmcrle', 'opj_compress'];
  const missing = missingBinaries(tools);
  if (missing.length > 0) throw new Error(`missing ${missing.join(', ')}: apt-get install -y dcmtk libopenjp2-tools`);
  hub = await startHub({ config: dicomTestConfig, facilities: [await valleyFacility()] });
  await waitHealthy(hub);
});

test.after.always(async () => {
  if (hub) await stopHub(hub, 'SIGKILL');
});

function run(command: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: dcmtkEnv, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, output: `${String(stdout)}\n${String(stderr)}` });
    });
  });
}

async function must(command: string, args: string[], cwd: string): Promise<void> {
  const result = await run(command, args, cwd);
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')}: exit ${result.code}\n${result.output}`);
}

/** A gradient per frame: compressible, and every frame different. */
function pixels(frames: number): Buffer {
  const bytes = Buffer.alloc(side * side * frames);
  for (let f = 0; f < frames; f++) {
    for (let i = 0; i < side * side; i++) {
      bytes[f * side * side + i] = ((i % side) * 4 + Math.floor(i / side) * 2 + f * 40) % 256;
    }
  }
  return bytes;
}

/** Writes the case's folder: the dump, the pixels, base.dcm, and out.dcm made by the manifest's steps. */
async function makeCase(item: Case): Promise<{ dir: string; sopInstanceUid: string; studyInstanceUid: string }> {
  const dir = await tempDir('ts-case');
  const frames = item.frames ?? 1;
  const ids = { sopInstanceUid: uid(), studyInstanceUid: uid(), seriesInstanceUid: uid() };
  const template = await readFile(path.join(fixtures, 'transfer-syntax.dump.template'), 'utf8');
  let dump = template
    .replaceAll('{{sopClassUid}}', frames > 1 ? '1.2.840.10008.5.1.4.1.1.7.2' : '1.2.840.10008.5.1.4.1.1.7')
    .replaceAll('{{case}}', String(manifest.cases.indexOf(item) + 1))
    .replaceAll('{{frames}}', String(frames))
    .replaceAll('{{sopInstanceUid}}', ids.sopInstanceUid)
    .replaceAll('{{studyInstanceUid}}', ids.studyInstanceUid)
    .replaceAll('{{seriesInstanceUid}}', ids.seriesInstanceUid);
  if (frames === 1) dump = dump.replace(/^\(0028,0008\).*\n/m, '');
  await writeFile(path.join(dir, 'pixels.raw'), pixels(frames));
  await writeFile(path.join(dir, 'base.dump'), dump);
  await must('dump2dcm', ['+te', 'base.dump', 'base.dcm'], dir);
  if (item.jpeg2000) {
    const pgm = Buffer.concat([Buffer.from(`P5\n${side} ${side}\n255\n`), pixels(1)]);
    await writeFile(path.join(dir, 'pixels.pgm'), pgm);
    await must('opj_compress', ['-i', 'pixels.pgm', '-o', 'pixels.j2k', ...item.jpeg2000.opjCompress], dir);
    // PS3.5 A.4: an empty basic offset table, then the code stream as one fragment, padded to even length.
    const stream = await readFile(path.join(dir, 'pixels.j2k'));
    const even = stream.length % 2 === 0 ? stream : Buffer.concat([stream, Buffer.alloc(1)]);
    await writeFile(path.join(dir, 'fragment.bin'), even);
    await writeFile(path.join(dir, 'offsets.bin'), Buffer.alloc(0));
    const encapsulated = dump.replace(
      /^\(7fe0,0010\).*$/m,
      [
        `(0002,0010) UI [${item.jpeg2000.transferSyntax}]`,
        '(7fe0,0010) OB (PixelSequence #=2)',
        '(fffe,e000) pi =offsets.bin',
        '(fffe,e000) pi =fragment.bin',
        '(fffe,e0dd) na (SequenceDelimitationItem)',
      ].join('\n'),
    );
    await writeFile(path.join(dir, 'encapsulated.dump'), encapsulated);
    await must('dump2dcm', ['+Fu', 'encapsulated.dump', 'out.dcm'], dir);
  }
  for (const [command, ...args] of item.make) await must(command!, args, dir);
  return { dir, sopInstanceUid: ids.sopInstanceUid, studyInstanceUid: ids.studyInstanceUid };
}

/** The data set of a Part-10 file, or the whole file when it is a bare data set (no preamble, no meta header). */
function datasetIn(bytes: Buffer, what: string): Buffer {
  return bytes.length >= 132 && bytes.toString('latin1', 128, 132) === 'DICM' ? datasetOf(bytes, what) : bytes;
}

for (const item of manifest.cases) {
  const title = `${item.name}: storescu is answered ${item.expect.response} and the hub keeps the data set as sent`;
  test.serial(title, async (t) => {
    const made = await makeCase(item);
    const sent = path.join(made.dir, 'out.dcm');
    const options = item.storescu.map((option) => option.replaceAll('{fixtures}', fixtures));
    const args = ['-v', '-aet', 'VALLEY_CT', '-aec', hubAe, ...options, '127.0.0.1', String(hub.dicomPort), sent];
    const result = await run('storescu', args, made.dir);
    t.is(result.code, item.expect.exitCode, result.output);
    t.regex(result.output, new RegExp(`Received Store Response \\(${item.expect.response}\\)`));

    const studyDir = path.join(hub.dataDir, 'dicom', 'studies', made.studyInstanceUid);
    const stored = await readFile(path.join(studyDir, `${made.sopInstanceUid}.dcm`));
    t.is(parseFileMeta(stored, 'stored').transferSyntaxUid, item.expect.storedTransferSyntax);
    const referenceFile = path.join(made.dir, item.expect.dataset === 'base' ? 'base.dcm' : 'out.dcm');
    const reference = datasetIn(await readFile(referenceFile), item.name);
    const kept = datasetOf(stored, 'stored');
    const inflated = item.expect.dataset === 'sent-inflated';
    const same = inflated ? inflateRawSync(kept).equals(inflateRawSync(reference)) : kept.equals(reference);
    t.true(same, 'the stored data set differs from the one sent');
  });
}
