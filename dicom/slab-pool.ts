// Reusable 1 MiB write buffers for responses that send files. A fresh buffer per part (500 of 100 KB for one
// study) made the garbage collector, not the disk, the bound of a WADO-RS retrieve: external memory that grows
// by a study's size triggers full collections of the whole heap. A slab goes back to the pool from the
// socket's write callback, once the kernel has the bytes, so a retrieve cycles through two or three slabs.
export const slabBytes = 1024 * 1024;

/** Slabs kept for reuse beyond the ones in use: what a few concurrent retrieves cycle through. */
const keptFree = 16;

const free: Buffer[] = [];

export function takeSlab(): Buffer {
  return free.pop() ?? Buffer.allocUnsafeSlow(slabBytes);
}

export function giveSlab(slab: Buffer): void {
  if (slab.length === slabBytes && free.length < keptFree) free.push(slab);
}
