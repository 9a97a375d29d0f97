// The standard PDF fonts (Helvetica, Helvetica-Bold) with their metrics built once per thread. pdfkit 0.20 builds
// a standard font's widths and its ~2,700 kerning pairs (its AFMFont) again for every document that opens it: a
// third of a report render in a CPU profile (BENCHMARKS.md, reports). The metrics never change, so a document is
// handed fonts of its own (its id, its PDF object) that share one metrics object. pdfkit has no API for this: the
// font it built in a probe document is copied, and only when it has exactly the fields pdfkit 0.20 gives it
// (`shape` below); otherwise documents open their fonts the ordinary way, slower but the same PDF.
import PDFDocument from 'pdfkit';

/** The own fields of pdfkit 0.20's StandardFont before a document uses it; `font` is the shared metrics. */
const shape = ['ascender', 'bbox', 'capHeight', 'descender', 'document', 'font', 'id', 'lineGap', 'name', 'xHeight'];

interface FontTable {
  _fontFamilies?: Record<string, object>;
  _fontCount?: number;
  _font?: object | null;
}

const templates = new Map<string, object | null>();

/** A probe document's font of that name, if it is the shape this module knows; null otherwise. */
function template(name: string): object | null {
  let found = templates.get(name);
  if (found !== undefined) return found;
  found = null;
  try {
    const probe = new PDFDocument({ autoFirstPage: false, font: '' }).font(name) as unknown as FontTable;
    const font = probe._font as { font?: { advancesForGlyphs?: unknown } } | null | undefined;
    const keys = font ? Object.keys(font).sort().join() : '';
    if (font && keys === shape.join() && typeof font.font?.advancesForGlyphs === 'function') found = font;
  } catch {
    found = null;
  }
  templates.set(name, found);
  return found;
}

/**
 * Puts fonts sharing the thread's metrics into a new document's font table under their names, so
 * `doc.font(name)` finds them instead of building them. The document must be opened with `font: ''` (no default
 * font yet). Returns false, changing nothing, when pdfkit is not the shape this module knows.
 */
export function shareStandardFonts(doc: PDFKit.PDFDocument, names: readonly string[]): boolean {
  const table = doc as unknown as FontTable;
  const fonts = names.map(template);
  if (typeof table._fontCount !== 'number' || typeof table._fontFamilies !== 'object') return false;
  if (fonts.some((font) => font === null)) return false;
  const families = table._fontFamilies;
  names.forEach((name, i) => {
    if (families[name] !== undefined) return;
    const font = fonts[i] as object;
    const id = `F${++(table as { _fontCount: number })._fontCount}`;
    families[name] = Object.assign(Object.create(Object.getPrototypeOf(font) as object) as object, font, {
      document: doc,
      id,
    });
  });
  return true;
}
