// Freed memory back to the kernel. glibc keeps what free() returns inside its arenas for reuse, and gives back
// only the top of the main arena on its own; what a worker thread malloc'd (V8's compiler zones while it loaded
// node-hl7-client or pdfkit, its isolate's tables) stays resident after the thread has ended. malloc_trim(0)
// releases the free pages of every arena: in `npm run bench -- footprint` it took an idle hub whose threads had
// ended from 314 to 233 MiB. It is a C function, so it comes from a native binding built at install
// (setup/malloc-trim-binding.ts); without that binding this does nothing.
import { createRequire } from 'node:module';
import path from 'node:path';

interface Binding {
  trim(): boolean;
}

const bindingPath = path.join(import.meta.dirname, '../setup/malloc-trim/build/Release/malloc_trim.node');
let binding: Binding | null | undefined;

function load(): Binding | null {
  if (binding !== undefined) return binding;
  try {
    binding = createRequire(import.meta.url)(bindingPath) as Binding;
  } catch {
    binding = null;
  }
  return binding;
}

/** Whether this process can trim (the binding was built and loads). */
export function canReturnFreedMemory(): boolean {
  return load() !== null;
}

/** Hands the free pages of every malloc arena back to the kernel; true if any were. Takes a few ms. */
export function returnFreedMemory(): boolean {
  return load()?.trim() ?? false;
}
