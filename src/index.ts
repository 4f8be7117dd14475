/** Burrow's public API: start an edge or an agent in-process. */
export { Edge, createEdge, type EdgeOptions, type ListenAddress } from './edge/edge.js'
export { Agent, createAgent, parseHostPort, type AgentOptions, type AgentState } from './agent/agent.js'
export { RegistrationError } from './agent/tunnel-client.js'
export { enroll, renew, identityFromPem, EnrollmentError, type AgentIdentity } from './agent/enrollment.js'
export { IdentityStore } from './edge/identity-store.js'
export type { ZoneGrant } from './protocol/identity.js'
export { BurrowError, ErrorCodes, isBurrowError, isErrorCode, httpStatusOf, type ErrorCode } from './protocol/errors.js'
export * as constants from './protocol/constants.js'
