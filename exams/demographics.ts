// Demographics as the RSO keeps them for a patient: coded values, names, telecoms and addresses, shaped as FHIR R4
// holds them (HumanName, ContactPoint, Address) with the HL7 v2 types they come from (XPN, XTN, XAD) named beside
// each. The value sets are lists so that checkPatientInput (patient.ts) can refuse a value outside them.

/** One coded value as FHIR's Coding and HL7's CE hold it; a bare `text` when there is no code. */
export interface Concept {
  system?: string;
  code?: string;
  display?: string;
  text?: string;
}

/** R4 name-use (HL7 XPN-7 name type code, table 0200). */
export const nameUses = ['usual', 'official', 'temp', 'nickname', 'anonymous', 'old', 'maiden'] as const;
export type NameUse = (typeof nameUses)[number];

export interface PersonName {
  family?: string;
  given: string[];
  use?: NameUse;
}

/** R4 ContactPoint (HL7 XTN in PID-13 home, PID-14 business). */
export const telecomSystems = ['phone', 'fax', 'email', 'pager', 'url', 'sms', 'other'] as const;
export const telecomUses = ['home', 'work', 'temp', 'old', 'mobile'] as const;
export interface Telecom {
  system?: (typeof telecomSystems)[number];
  value: string;
  use?: (typeof telecomUses)[number];
}

/** R4 Address (HL7 XAD in PID-11). */
export const addressUses = ['home', 'work', 'temp', 'old', 'billing'] as const;
export const addressTypes = ['postal', 'physical', 'both'] as const;
export interface Address {
  use?: (typeof addressUses)[number];
  type?: (typeof addressTypes)[number];
  text?: string;
  line?: string[];
  city?: string;
  district?: string;
  state?: string;
  postalCode?: string;
  country?: string;
}
