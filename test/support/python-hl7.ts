// Reads an HL7 v2 message with Debian's python3-hl7 (an implementation nobody here wrote): each key is one of its
// accessor strings (`OBR.F25`, `PID.F3.R1.C4.S1`), each value what it reads there, unescaped by python-hl7
// itself. `segments` counts segments by name, `OBX` rows give each OBX's fields 2, 3.1, 4, 5 (unescaped) and 11.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

const script = `
import hl7, json, sys
data = json.load(sys.stdin)
m = hl7.parse(data['message'])
def read(key):
    try:
        return m.unescape(str(m[key]))
    except Exception:
        return None
out = {'fields': {k: read(k) for k in data['keys']}, 'segments': {}, 'obx': []}
for s in m:
    name = str(s[0])
    out['segments'][name] = out['segments'].get(name, 0) + 1
for s in m.segments('OBX'):
    def f(i, c=None):
        try:
            v = s[i] if c is None else s[i][0][c - 1]
            return m.unescape(str(v))
        except Exception:
            return ''
    out['obx'].append({'type': f(2), 'code': f(3, 1), 'subId': f(4), 'value': f(5), 'status': f(11)})
print(json.dumps(out))
`;

export interface PythonHl7Reading {
  fields: Record<string, string | null>;
  segments: Record<string, number>;
  obx: Array<{ type: string; code: string; subId: string; value: string; status: string }>;
}

export async function readWithPythonHl7(message: string, keys: string[]): Promise<PythonHl7Reading> {
  const child = run('/usr/bin/python3', ['-c', script], { maxBuffer: 64 * 2 ** 20 });
  child.child.stdin?.end(JSON.stringify({ message, keys }));
  const { stdout } = await child;
  return JSON.parse(stdout) as PythonHl7Reading;
}
