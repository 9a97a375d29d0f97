// Counts the work a piece of code does, not the time it takes: the characters and elements that the string and
// array searches it calls walk over. Cost tests compare this count across input sizes (a linear reader does 16×
// the work for 16× the input, a quadratic one 256×), which holds on a loaded machine where wall time does not.
// It patches the built-in prototypes for the duration of one call, so use it in a test file of its own.

type Method = (this: unknown, ...args: unknown[]) => unknown;

interface Patched {
  target: object;
  name: string;
  original: Method;
}

/** Runs `run` and returns how many characters and elements split, indexOf, includes and filter looked at. */
export async function measureWork(run: () => unknown): Promise<number> {
  let work = 0;
  const patched: Patched[] = [];
  const patch = (
    target: object,
    name: string,
    cost: (self: { length: number }, args: unknown[], result: unknown) => number,
  ): void => {
    const original = (target as Record<string, Method>)[name]!;
    patched.push({ target, name, original });
    Object.defineProperty(target, name, {
      configurable: true,
      writable: true,
      value: function (this: { length: number }, ...args: unknown[]) {
        const result = original.apply(this, args);
        work += cost(this, args, result);
        return result;
      },
    });
  };
  const whole = (self: { length: number }): number => self.length;
  // indexOf stops where it finds the needle: count what it walked.
  const walked = (self: { length: number }, args: unknown[], result: unknown): number => {
    const from = typeof args[1] === 'number' ? args[1] : 0;
    return Math.max(0, (typeof result === 'number' && result >= 0 ? result + 1 : self.length) - from);
  };
  patch(String.prototype, 'split', whole);
  patch(String.prototype, 'indexOf', walked);
  patch(String.prototype, 'includes', whole);
  patch(Array.prototype, 'indexOf', walked);
  patch(Array.prototype, 'includes', whole);
  patch(Array.prototype, 'filter', whole);
  try {
    await run();
  } finally {
    for (const { target, name, original } of patched.reverse()) {
      Object.defineProperty(target, name, { configurable: true, writable: true, value: original });
    }
  }
  return work;
}
