// The hostile order of issue 10: an ORM^O01 whose PID-3 repeats a patient identifier many times (100,000 fit in
// about 200 KB). Every repetition is a valid medical record number of the sending facility, so nothing but
// the count sets it apart from a real order.
export interface HostileOrderOptions {
  controlId?: string;
  sendingFacility?: string;
  /** Text of each repetition; `{i}` is its number. The default, `{i}`, keeps the message as short as it gets. */
  repetition?: string;
}

export function hostileOrder(repetitions: number, options: HostileOrderOptions = {}): string {
  const template = options.repetition ?? '{i}';
  const ids = Array.from({ length: repetitions }, (_, i) => template.replaceAll('{i}', String(i + 1)));
  return [
    `MSH|^~\\&|RIS|${options.sendingFacility ?? 'VALLEYGEN'}|RSO HUB|RSO|20240611093000||ORM^O01^ORM_O01|${options.controlId ?? 'HOSTILE1'}|P|2.5.1`,
    `PID|1||${ids.join('~')}||DOE^JOHN||19700101|M`,
    'ORC|NW|PLC-H1|FIL-H1||SC',
    'OBR|1|PLC-H1|FIL-H1|71020^CHEST XRAY 2 VIEWS^C4|||20240611090000|||||||||||ACC-H1',
    '',
  ].join('\r');
}
