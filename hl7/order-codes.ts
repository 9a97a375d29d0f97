// The HL7 v2 code tables an order is read with (v2.5.1 ch. 4 and the tables it names: 0119 order control, 0038
// order status, 0123 result status, 0027 priority, 0074 diagnostic service section) and the DICOM modalities a
// sender may name directly (PS3.3 C.7.3.1.1.1). Data only; order-mapping.ts applies them.
import type { Priority } from '../exams/exam.ts';
import type { ExamStatus } from '../exams/lifecycle.ts';
import type { OrderAction } from './order-mapping.ts';

// HL7 table 0119. CA is the placer's cancel request, DC its discontinue request, OC the filler's notice that
// the order was cancelled: for the RSO all three end the exam. Anything else is refused with its code.
export const actions: Readonly<Record<string, OrderAction>> = {
  NW: 'create',
  XO: 'change',
  CA: 'cancel',
  DC: 'cancel',
  OC: 'cancel',
  SC: 'status',
};

// ORC-5 (table 0038). CM: the facility performed the exam, so the study exists and the RSO's next step is
// reading it. IP, SC, HD, A: the facility's own progress, not a step of the RSO lifecycle: noted, no change.
export const orderStatuses: Readonly<Record<string, ExamStatus | undefined>> = {
  CM: 'images-received',
  CA: 'cancelled',
  DC: 'cancelled',
  IP: undefined,
  SC: undefined,
  HD: undefined,
  A: undefined,
};

// OBR-25 (table 0123) as an order status when ORC-5 is empty: X is "order cancelled"; I, S, O are progress.
export const resultStatuses: Readonly<Record<string, ExamStatus | undefined>> = {
  X: 'cancelled',
  I: undefined,
  S: undefined,
  O: undefined,
};

// Priority component (TQ-6 in ORC-7/OBR-27, TQ1-9 from v2.5), HL7 table 0027. Spelled-out values come from
// feeds that put the display text in the code. P (pre-op) and T (timing critical) must not wait in the routine
// list, so they read as urgent; C (callback) and PRN (as needed) are routine for reading.
export const priorityCodes: Readonly<Record<string, Priority>> = {
  S: 'stat',
  STAT: 'stat',
  A: 'asap',
  ASAP: 'asap',
  R: 'routine',
  ROUTINE: 'routine',
  C: 'routine',
  PRN: 'routine',
  P: 'urgent',
  T: 'urgent',
  U: 'urgent',
  URGENT: 'urgent',
};

// DICOM modalities (PS3.3 C.7.3.1.1.1) a sender may put straight into OBR-24 or IPC-5.
export const dicomModalities = new Set([
  'CR',
  'CT',
  'DX',
  'ES',
  'IO',
  'MG',
  'MR',
  'NM',
  'OT',
  'PT',
  'PX',
  'RF',
  'RG',
  'SC',
  'US',
  'XA',
  'XC',
  'BMD',
  'OCT',
  'OP',
]);

// OBR-24 diagnostic service section (table 0074) values that name one modality. RAD (radiology) and OTH say
// nothing about it and give no modality.
export const serviceSections: Readonly<Record<string, string>> = {
  NMR: 'MR',
  NMS: 'NM',
  RX: 'DX',
  XRC: 'RF',
  RUS: 'US',
  OUS: 'US',
  CUS: 'US',
  VUS: 'US',
  CTH: 'XA',
};
