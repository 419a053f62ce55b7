// The shape of a parsed SIP message, shared by the lazy and the full parser (proxy/sip-parser.ts).
// Offsets point into `buf`: the lazy path keeps values as byte ranges until a caller asks for them
// (the routing fields below are getters in lazy mode) and forwards untouched bytes as they came.

export type ParseMode = 'full' | 'lazy';

/** Byte range [start, end) of one header line in the message, CRLF included (folded lines too). */
export interface Span {
  start: number;
  end: number;
}

export interface Via {
  /** The whole via-parm text, e.g. "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1;rport". */
  value: string;
  /** Protocol version as sent ("2.0"). */
  version: string;
  transport: string;
  host: string;
  port: number;
  /** Whether sent-by named a port. */
  portGiven: boolean;
  branch: string;
  received?: string;
  /** rport value when present with a number; `true` when present without one. */
  rport?: number | true;
}

/** One header line that carries Via or Route values (a line may hold several comma-separated values). */
export interface MultiValueLine {
  span: Span;
  /** The comma-separated values of the line, trimmed (computed on first use in lazy mode). */
  readonly values: string[];
}

export interface Header {
  /** Canonical long name, e.g. "Call-ID" even if the message said "i". */
  name: string;
  value: string;
}

export interface SipMessage {
  buf: Buffer;
  mode: ParseMode;
  isRequest: boolean;
  /** Request method, or for a response the CSeq method. */
  method: string;
  requestUri: string;
  status: number;
  reason: string;
  /** Where the start line begins (after any leading CRLF keep-alive bytes). */
  startLineStart?: number;
  /** End of the start line (offset just after its CRLF). */
  startLineEnd: number;
  /** Offset of the empty line that ends the headers. */
  headersEnd: number;
  bodyStart: number;
  /** Via header lines in order; `vias` holds the top two values, parsed (`viaCount` counts them all). */
  viaLines: MultiValueLine[];
  readonly vias: Via[];
  readonly viaCount: number;
  routeLines: MultiValueLine[];
  readonly callId: string;
  cseq: number;
  cseqMethod: string;
  readonly fromTag: string;
  readonly toTag: string;
  maxForwards: number | undefined;
  /** The body length: Content-Length when given, else the rest of the datagram (RFC 3261 18.3). */
  contentLength: number;
  /** Option tags of Proxy-Require (RFC 3261 16.3 step 5), [] when absent. */
  readonly proxyRequire: string[];
  /** Spans of the headers a locally generated response copies. */
  spans: {
    from?: Span;
    to?: Span;
    callId?: Span;
    cseq?: Span;
    maxForwards?: Span;
    contentLength?: Span;
  };
  headerCount: number;
  /** Every header, unfolded, in order: full mode only. */
  headers?: Header[];
  /** The writer's cache of what every forwarded branch shares (proxy/sip-writer.ts). */
  forwardCache?: { rr: string; removeTopRoute: boolean; head: Buffer };
}

export class SipParseError extends Error {
  /** Enough was read to answer (a request other than ACK with a usable top Via and a CSeq line). */
  readonly answerable: boolean;
  readonly partial?: SipMessage;
  /** The status to answer with: 400, or 505 (version) or 416 (URI scheme). */
  readonly status: number;
  constructor(message: string, answerable: boolean, partial?: SipMessage, status = 400) {
    super(message);
    this.name = 'SipParseError';
    this.answerable = answerable;
    this.partial = partial;
    this.status = status;
  }
}
