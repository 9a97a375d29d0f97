// The answer to a C-FIND holds the keys of the query and nothing else (PS3.4 C.2.2.1.3, K.2.2.1.2): the query
// services build everything they know of a match and cut it to the identifier's keys here.
import type { DataElement, Dataset } from './dataset-codec.ts';

/**
 * The answer holds exactly the keys the query asked for (PS3.4 C.2.2.1.3), sequence items included; a key the
 * hub has no value for is returned empty. Text is UTF-8, so (0008,0005) is always ISO_IR 192.
 */
export function project(query: Dataset, full: Dataset): Dataset {
  const out: Dataset = new Map();
  for (const [tag, element] of query) {
    if (tag.endsWith('0000') || tag === '00080005') continue;
    out.set(tag, projected(element, full.get(tag)));
  }
  out.set('00080005', { vr: 'CS', value: 'ISO_IR 192' });
  return out;
}

function projected(asked: DataElement, have: DataElement | undefined): DataElement {
  if (asked.vr === 'SQ') {
    const template = Array.isArray(asked.value) ? asked.value[0] : undefined;
    const items = Array.isArray(have?.value) ? have.value : [];
    return { vr: 'SQ', value: template === undefined ? items : items.map((item) => projectItem(template, item)) };
  }
  return have ?? { vr: asked.vr, value: '' };
}

function projectItem(template: Dataset, item: Dataset): Dataset {
  const out: Dataset = new Map();
  for (const [tag, element] of template) if (!tag.endsWith('0000')) out.set(tag, projected(element, item.get(tag)));
  return out;
}
