// What the DICOM listener's panel on the console dashboard watches: associations as they open, store and close.
// The SCP calls an observer (two small interfaces, like dcm4che's AssociationMonitor) and knows nothing of the
// console; AssociationActivity keeps what the dashboard shows in memory: the open associations, and the
// instances per calling AE today (UTC day), which a restart forgets (the study index keeps what was stored).
import type { StoredInstance } from './incoming-instance.ts';

export interface AssociationObserver {
  /** An association from `callingAe` was accepted. */
  opened(callingAe: string): ObservedAssociation;
}

export interface ObservedAssociation {
  /** An instance was stored and recorded (answered with success). */
  stored(instance: StoredInstance): void;
  closed(): void;
}

export interface OpenAssociation {
  callingAe: string;
  openedAt: string;
  instances: number;
}

export interface AeTotal {
  callingAe: string;
  associations: number;
  instances: number;
  lastAt: string;
}

export interface AssociationSnapshot {
  open: OpenAssociation[];
  /** Since 00:00 UTC today. */
  today: AeTotal[];
}

export class AssociationActivity implements AssociationObserver {
  readonly #open = new Set<OpenAssociation>();
  #day = '';
  #today = new Map<string, AeTotal>();
  readonly #now: () => Date;

  constructor(now: () => Date = () => new Date()) {
    this.#now = now;
  }

  opened(callingAe: string): ObservedAssociation {
    const at = this.#now().toISOString();
    const entry: OpenAssociation = { callingAe, openedAt: at, instances: 0 };
    this.#open.add(entry);
    this.#total(callingAe, at).associations++;
    return {
      stored: () => {
        entry.instances++;
        const now = this.#now().toISOString();
        const total = this.#total(callingAe, now);
        total.instances++;
        total.lastAt = now;
      },
      closed: () => void this.#open.delete(entry),
    };
  }

  snapshot(): AssociationSnapshot {
    this.#rollOver(this.#now().toISOString());
    return {
      open: [...this.#open].map((a) => ({ ...a })),
      today: [...this.#today.values()].map((t) => ({ ...t })).sort((a, b) => a.callingAe.localeCompare(b.callingAe)),
    };
  }

  #total(callingAe: string, at: string): AeTotal {
    this.#rollOver(at);
    let total = this.#today.get(callingAe);
    if (!total) {
      total = { callingAe, associations: 0, instances: 0, lastAt: at };
      this.#today.set(callingAe, total);
    }
    return total;
  }

  #rollOver(at: string): void {
    const day = at.slice(0, 10);
    if (day === this.#day) return;
    this.#day = day;
    this.#today = new Map();
  }
}
