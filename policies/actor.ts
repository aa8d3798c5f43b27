/** Who caused a change: the caller's identity as the server authenticated it. */
export interface Actor {
  readonly subject: string;
  readonly role: string;
  readonly issuer?: string;
}
