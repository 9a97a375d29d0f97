// V8's compiled code for the hub's modules, kept on disk between starts (Node's module compile cache). Without it
// every start and every worker thread parses its libraries again, and parsing is where memory peaks: a thread
// loading node-hl7-client (a 4 MB bundle of tables) reached 164 MiB RSS parsing it and 105 MiB reading the cache
// instead. The first start fills the cache (in the system's temporary folder, Node's default, or where
// NODE_COMPILE_CACHE says; NODE_DISABLE_COMPILE_CACHE=1 turns it off); Node keys it by version and file content.
//
// Imported for its effect, right after runtime/heap-settings.ts. Node parses and compiles the whole graph of
// static imports before it runs any module's body, so enabled here the cache covers only what loads later: the
// dynamic imports and every worker thread (which read it only through the environment variable, inherited when
// they start). `npm start` and the image set that variable (to this same default folder) before Node starts, so
// the static graph comes from the cache too and Node's TypeScript stripper (~18 MiB of WebAssembly) is not loaded
// once the cache is warm.
import module from 'node:module';

const { directory } = module.enableCompileCache();
if (directory !== undefined) process.env['NODE_COMPILE_CACHE'] ??= directory;
