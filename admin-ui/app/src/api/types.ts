// What the hub's /api answers, as the app reads it (admin-ui/api.ts and the session API). Written here rather than
// imported from the hub's folders: the app is bundled for the browser and must not pull Node code in.

export type Role =
  | 'admin'
  | 'analyst'
  | 'client-admin'
  | 'viewer'
  | 'customer'
  | 'technician'
  | 'radiologist'
  | 'transcriber'
  | 'consultant'
  | 'integration';

export interface SessionUser {
  username: string;
  name: string;
  roles: Role[];
  facilities?: string[];
  mustChangePassword: boolean;
}

export interface SessionAnswer {
  user: SessionUser;
  csrfToken: string;
}

export interface QueueStatus {
  destination: string;
  depth: number;
  paused: boolean;
  oldestQueuedAt?: string;
  nextAttemptAt?: string;
  state?: string;
}

export interface ChannelOverview {
  id: string;
  name: string;
  revision: number;
  status: 'deployed' | 'failed' | 'stopped' | string;
  error?: string;
  deployedAt: string;
  received: number;
  errors: number;
  filtered?: number;
  queued?: number;
  queues: QueueStatus[];
}

export interface StoredChannel {
  revision: number;
  definition: ChannelDefinitionJson;
  savedAt: string;
  author: string;
  status: { status: string; error?: string } | null;
}

export interface ChannelDefinitionJson {
  id: string;
  name: string;
  enabled?: boolean;
  destinations?: Array<{ name: string }>;
  [key: string]: unknown;
}

export interface Revision {
  revision: number;
  savedAt: string;
  author: string;
}

export type DeliveryState = 'received' | 'filtered' | 'queued' | 'sent' | 'error';

export interface DeliveryRecord {
  name: string;
  state: DeliveryState;
  attempts: number;
  content?: string;
  lastError?: string;
  response?: string;
  parked?: boolean;
  updatedAt: string;
}

export interface MessageSummary {
  _id: string;
  channelId: string;
  revision: number;
  receivedAt: string;
  dataType: string;
  state: string;
  error?: string;
  messageType?: string;
  controlId?: string;
  patientId?: string;
  accession?: string;
  orderNumber?: string;
  source: Record<string, string>;
  destinations: Array<Omit<DeliveryRecord, 'content'>>;
  reprocessOf?: string;
}

export interface MessageDetail extends MessageSummary {
  raw: string;
  mapped?: string;
  destinations: DeliveryRecord[];
}

/** A page of a list: the cursor API answers `next`, the older one `total` (paged by skip). */
export interface Page<T> {
  items: T[];
  next?: string | null;
  total?: number;
}

export interface AuditEntry {
  at: string;
  user: string;
  action: string;
  target: string;
  detail?: Record<string, unknown>;
  before?: unknown;
  after?: unknown;
}

export interface UserRecord {
  username: string;
  name: string;
  roles: Role[];
  facilities?: string[];
  locked?: boolean;
}

export interface Facility {
  code: string;
  name: string;
  aeTitles: string[];
  sendingFacilities: string[];
  active: boolean;
  [key: string]: unknown;
}

export interface DryRunDestination {
  name: string;
  filtered: boolean;
  output: string | null;
  error: string | null;
}

export interface DryRunResult {
  /** The channel's filter dropped the message. */
  filtered: boolean;
  /** The message after the channel's map. */
  output: string | null;
  error: string | null;
  destinations?: DryRunDestination[];
}

/** GET /api/dashboard/dicom: the DICOM listener's panel (admin-ui/dashboard-routes.ts DicomPanel). */
export type DicomPanelAnswer =
  | { enabled: false }
  | {
      enabled: true;
      open: Array<{ callingAe: string; openedAt: string; instances: number }>;
      today: Array<{ callingAe: string; associations: number; instances: number; lastAt: string }>;
      waitingForCompletion: Array<{
        studyInstanceUid: string;
        facility: string;
        examNumber?: string;
        instanceCount: number;
        lastReceivedAt: string;
        completeDueAt: string;
      }>;
      delivery: Array<{
        studyInstanceUid: string;
        facility: string;
        examNumber?: string;
        completedAt?: string;
        instanceCount: number;
        destinations: Array<{ destination: string; stored: number; failed: number }>;
      }>;
    };
