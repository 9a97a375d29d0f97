// The URIs the hub uses in FHIR resources for its own concepts. URNs, because the hub has no web domain of its
// own to publish definitions under; any FHIR client can still match on them.
export const examNumberSystem = 'urn:rso-hub:exam-number';
export const facilitySystem = 'urn:rso-hub:facility';
/** Carries the exact exam status, which FHIR's ServiceRequest.status (a request's status) cannot express. */
export const examStatusExtension = 'urn:rso-hub:fhir:StructureDefinition:exam-status';
/** HL7 v2 table 0203 identifier types: PLAC placer, FILL filler, ACSN accession (R4 identifier-type). */
export const identifierTypeSystem = 'http://terminology.hl7.org/CodeSystem/v2-0203';
/** DICOM modality codes (PS3.16 CID 29), as ImagingStudy.modality uses them. */
export const dicomSystem = 'http://dicom.nema.org/resources/ontology/DCM';
