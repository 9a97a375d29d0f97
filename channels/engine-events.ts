// What the engine tells the admin UI and metrics about, as a typed EventEmitter map.
export interface DeliveryEvent {
  channelId: string;
  destination: string;
  messageId: string;
  attempts: number;
  error: string;
}

export interface DeploymentEvent {
  channelId: string;
  revision: number;
  status: DeploymentStatus;
  error?: string;
}

export type DeploymentStatus = 'deployed' | 'disabled' | 'failed' | 'undeployed';

export interface EngineEvents {
  /** An attempt failed and will be retried. */
  'delivery-retry': [DeliveryEvent];
  /** A delivery ended in error: max attempts reached or a permanent failure. */
  'delivery-error': [DeliveryEvent];
  'delivery-sent': [Omit<DeliveryEvent, 'error'>];
  /** A destination was paused by the engine (onExhausted: 'pause'). */
  'destination-paused': [{ channelId: string; destination: string }];
  deployment: [DeploymentEvent];
}
