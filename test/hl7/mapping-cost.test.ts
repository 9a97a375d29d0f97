// Reading a message is linear in its size: the work (characters and elements searched, see work-meter.ts) to
// parse, index, filter and map an order grows as its PID-3 repetitions do, not as their square. Issue 10: a
// 100,000-repetition PID-3 kept the event loop busy for minutes.
import test from 'ava';
import { evaluateFilter } from '../../channels/filter.ts';
import { buildAck, ackRequestOf } from '../../hl7/ack.ts';
import { mapExamMessage } from '../../hl7/exam-mapping.ts';
import { hl7v2DataType } from '../../hl7/hl7-data-type.ts';
import { Hl7Message } from '../../hl7/message.ts';
import { hostileOrder } from '../support/hostile-hl7.ts';
import { measureWork } from '../support/work-meter.ts';

const context = { facility: { code: 'VALLEYGEN', sendingFacilities: ['VALLEYGEN'] }, timeZone: 'UTC' };
const sizes = [250, 1000, 4000];

function handle(text: string): void {
  const document = hl7v2DataType.parse(text);
  hl7v2DataType.index(document);
  evaluateFilter({ path: 'PID-3.1', operator: 'eq', value: 'nobody' }, document);
  const message = Hl7Message.parse(text);
  buildAck(ackRequestOf(message), 'AA').toString();
  mapExamMessage(message, context);
}

async function workPerSize(template: string): Promise<number[]> {
  const work: number[] = [];
  for (const n of sizes) work.push(await measureWork(() => handle(hostileOrder(n, { repetition: template }))));
  return work;
}

/** 16× the repetitions: linear work is ~16×, quadratic ~256×. Half again over linear allows for fixed costs. */
function assertLinear(t: import('ava').ExecutionContext, work: number[]): void {
  const ratio = work[2]! / work[0]!;
  t.true(ratio < 24, `work grew ${ratio.toFixed(1)}× for 16× the repetitions (${work.join(', ')})`);
}

test('parsing, filtering and mapping an order with 250 to 4,000 PID-3 repetitions costs work in proportion to them', async (t) => {
  assertLinear(t, await workPerSize('{i}^^^VALLEYGEN^MR'));
});

test('repetitions with escapes and components cost work in proportion to them too', async (t) => {
  assertLinear(t, await workPerSize('M\\T\\{i}^^^VALLEYGEN&1.2.3&ISO^MR~{i}^^^^SS'));
});
