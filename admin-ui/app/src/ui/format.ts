// Dates in the user's own time zone and language (the browser's), numbers with separators.
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const number = new Intl.NumberFormat();

export function formatDateTime(value: string | Date | undefined): string {
  if (value === undefined) return '–';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : dateTime.format(date);
}

export function formatTime(value: Date | number): string {
  return timeOnly.format(new Date(value));
}

export function formatCount(value: number | undefined): string {
  return value === undefined ? '–' : number.format(value);
}

/** "3 min", "2 h 5 min": how long ago, for queue ages. */
export function formatAge(since: string | undefined, now = Date.now()): string {
  if (since === undefined) return '–';
  const seconds = Math.max(0, Math.round((now - new Date(since).getTime()) / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export const stateColor: Record<string, string> = {
  deployed: 'teal',
  sent: 'teal',
  processed: 'teal',
  received: 'blue',
  queued: 'yellow',
  filtered: 'gray',
  stopped: 'gray',
  paused: 'orange',
  error: 'red',
  failed: 'red',
};

/** One colour per order priority, the same on every list (STAT stands out). */
export const priorityColor: Record<string, string> = { stat: 'red', asap: 'orange', urgent: 'yellow', routine: 'gray' };
