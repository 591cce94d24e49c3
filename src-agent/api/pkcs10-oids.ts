/**
 * Object identifiers of the PKCS#10 requests nodes send (subject names, the SAN extension request):
 * the hub writes them (src-agent/hub/csr.ts), the controller's csrapprover reads them.
 */
export const OID_CN = '2.5.4.3';
export const OID_O = '2.5.4.10';
export const OID_ECDSA_SHA256 = '1.2.840.10045.4.3.2';
export const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
export const OID_SUBJECT_ALT_NAME = '2.5.29.17';
