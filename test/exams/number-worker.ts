// Child process of exam-number.test.ts: opens the shared store like a second hub process would, creates
// exams as fast as it can, and prints their numbers as one JSON line.
import { ExamService } from '../../exams/service.ts';
import { createLogger } from '../../runtime/log.ts';
import { openStore } from '../../store/open.ts';

const [dataDir, countText, worker] = process.argv.slice(2);
const log = createLogger({ worker });
const store = await openStore({ dataDir: dataDir!, log: { ...log, info: () => {} } });
const exams = new ExamService(store.db, { log, outboxPollMs: 60_000 });
const numbers: string[] = [];
for (let i = 0; i < Number(countText); i++) {
  const exam = await exams.createOrder(
    {
      facility: 'VALLEYGEN',
      patient: {
        identifiers: [{ system: 'VALLEYGEN', value: `MRN-${worker}-${i}`, facility: 'VALLEYGEN' }],
        name: { family: 'Test', given: ['Worker'] },
      },
      identifiers: [{ kind: 'placer', value: `P-${worker}-${i}` }],
      procedure: { code: 'CTHEAD', text: 'CT head without contrast' },
      modality: 'CT',
    },
    { actor: `worker-${worker}`, via: 'test' },
  );
  numbers.push(exam.examNumber);
}
await store.close();
process.stdout.write(`${JSON.stringify(numbers)}\n`);
