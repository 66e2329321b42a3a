// DNS wire format (RFC 1035, 3596, 6891): the message types with the pure decoder and encoder,
// in one import for the server and the policy.
export * from './dns-message'
export * from './dns-decode'
export * from './dns-encode'
