// Waits for a promise at most `ms`: true when it settled in time. For stopping parts that might hang on a peer.
export async function settlesWithin(promise: Promise<void> | undefined, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([(promise ?? Promise.resolve()).then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
