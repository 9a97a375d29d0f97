// V8's compiled code for the hub's modules, kept on disk between starts (Node's module compile cache). Without it
// every start and every worker thread parses its libraries again, and parsing is where memory peaks: a thread
// loading node-hl7-client (a 4 MB bundle of tables) reached 164 MiB RSS parsing it and 105 MiB reading the cache
// instead. The first start fills the cache (in the system's temporary folder, Node's default, or where
// NODE_COMPILE_CACHE says; NODE_DISABLE_COMPILE_CACHE=1 turns it off); Node keys it by version and file content.
//
// Imported for its effect, right after runtime/heap-settings.ts, so that it covers every module the hub loads but
// hub.ts itself. Worker threads read the cache only through the environment variable, which they inherit when
// started. `npm start` sets that variable (to this same default folder) before Node starts, so hub.ts comes from
// the cache too and Node does not load its TypeScript stripper at all (~18 MiB, a WebAssembly module) once warm.
import module from 'node:module';

const { directory } = module.enableCompileCache();
if (directory !== undefined) process.env['NODE_COMPILE_CACHE'] ??= directory;
