// MQTT 5 reason codes (MQTT 5.0 §2.4) by name, and how a CONNACK refusal reads to a 3.1/3.1.1
// client, which only has six return codes (MQTT 3.1.1 §3.2.2.3).

export const RC = {
  success: 0x00,
  grantedQos1: 0x01,
  grantedQos2: 0x02,
  disconnectWithWill: 0x04,
  noMatchingSubscribers: 0x10,
  noSubscriptionExisted: 0x11,
  continueAuthentication: 0x18,
  reAuthenticate: 0x19,
  unspecifiedError: 0x80,
  malformedPacket: 0x81,
  protocolError: 0x82,
  implementationSpecificError: 0x83,
  unsupportedProtocolVersion: 0x84,
  clientIdentifierNotValid: 0x85,
  badUsernameOrPassword: 0x86,
  notAuthorized: 0x87,
  serverUnavailable: 0x88,
  serverBusy: 0x89,
  banned: 0x8a,
  serverShuttingDown: 0x8b,
  badAuthenticationMethod: 0x8c,
  keepAliveTimeout: 0x8d,
  sessionTakenOver: 0x8e,
  topicFilterInvalid: 0x8f,
  topicNameInvalid: 0x90,
  packetIdentifierInUse: 0x91,
  packetIdentifierNotFound: 0x92,
  receiveMaximumExceeded: 0x93,
  topicAliasInvalid: 0x94,
  packetTooLarge: 0x95,
  messageRateTooHigh: 0x96,
  quotaExceeded: 0x97,
  administrativeAction: 0x98,
  payloadFormatInvalid: 0x99,
  retainNotSupported: 0x9a,
  qosNotSupported: 0x9b,
  useAnotherServer: 0x9c,
  serverMoved: 0x9d,
  sharedSubscriptionsNotSupported: 0x9e,
  connectionRateExceeded: 0x9f,
  maximumConnectTime: 0xa0,
  subscriptionIdentifiersNotSupported: 0xa1,
  wildcardSubscriptionsNotSupported: 0xa2,
} as const;

export type ReasonCode = (typeof RC)[keyof typeof RC];

/** EMQX's names for reason codes, as its logs and `clients` output show them. */
const NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(RC).map(([k, v]) => [v, k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)]),
);

export function reasonName(rc: number): string {
  return NAMES.get(rc) ?? `0x${rc.toString(16)}`;
}

/** 3.1.1 CONNACK return codes. */
export const V3_CONNACK = {
  accepted: 0,
  unacceptableProtocolVersion: 1,
  identifierRejected: 2,
  serverUnavailable: 3,
  badUsernameOrPassword: 4,
  notAuthorized: 5,
} as const;

/** The closest 3.1.1 CONNACK return code for a v5 refusal. */
export function v3ConnackCode(rc: number): number {
  switch (rc) {
    case RC.success:
      return V3_CONNACK.accepted;
    case RC.unsupportedProtocolVersion:
      return V3_CONNACK.unacceptableProtocolVersion;
    case RC.clientIdentifierNotValid:
      return V3_CONNACK.identifierRejected;
    case RC.badUsernameOrPassword:
      return V3_CONNACK.badUsernameOrPassword;
    case RC.notAuthorized:
    case RC.banned:
      return V3_CONNACK.notAuthorized;
    default:
      return V3_CONNACK.serverUnavailable;
  }
}
