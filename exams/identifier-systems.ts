// Identifier systems the exam domain stores and every protocol reads the same way: an order from HL7 (IPC-3),
// a FHIR ImagingStudy and DICOM matching must name a study with one system, so it lives here, not in one of them.

/**
 * A Study Instance UID as an identifier (R4 imagingstudy.html; value urn:oid:<uid>): on ImagingStudy, and on the
 * exam when an order pre-assigns the UID (HL7 IPC-3), so DICOM matching finds the exam by it.
 */
export const dicomUidSystem = 'urn:dicom:uid';
