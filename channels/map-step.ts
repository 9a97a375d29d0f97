// One map step (channel or destination): declarative field mappings first, then the JavaScript step on the
// result. Mappings read from the document as it is being mapped, so a later mapping sees an earlier one.
import type { DataType, MessageDocument } from './connector.ts';
import type { MapStep } from './definition.ts';
import { ScriptStep } from './script-step.ts';

export class CompiledMap {
  readonly #step: MapStep;
  readonly #script: ScriptStep | undefined;

  constructor(step: MapStep) {
    this.#step = step;
    this.#script = step.script === undefined ? undefined : new ScriptStep(step.script, step.scriptTimeoutMs);
  }

  /** Returns the mapped document (maybe a new one); throws with a reason an analyst can act on. */
  apply(document: MessageDocument, dataType: DataType): MessageDocument {
    for (const mapping of this.#step.mappings ?? []) {
      const value = 'value' in mapping ? mapping.value : document.get(mapping.from);
      if (value !== undefined) document.set(mapping.target, value);
    }
    if (!this.#script) return document;
    return dataType.fromJSON(this.#script.run(document.toJSON()));
  }
}
