// The shape of a parsed SIP message, shared by the lazy and the full parser (proxy/sip-parser.ts).
// Both parsers fill the routing fields; only the full parser fills `headers`. Offsets point into `buf`
// so the lazy path can forward untouched bytes without building strings for headers it skips.

export type ParseMode = 'full' | 'lazy';

/** Byte range [start, end) of one header line in the message, CRLF included (folded lines too). */
export interface Span {
  start: number;
  end: number;
}

export interface Via {
  /** The whole via-parm text, e.g. "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1;rport". */
  value: string;
  transport: string;
  host: string;
  port: number;
  branch: string;
  received?: string;
  /** rport value when present with a number; `true` when present without one. */
  rport?: number | true;
}

/** One header line that carries Via or Route values (a line may hold several comma-separated values). */
export interface MultiValueLine {
  span: Span;
  values: string[];
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
  /** End of the start line (offset just after its CRLF). */
  startLineEnd: number;
  /** Offset of the empty line that ends the headers. */
  headersEnd: number;
  bodyStart: number;
  /** Via header lines in order; `vias` flattens their values, top first (at most the first two are parsed). */
  viaLines: MultiValueLine[];
  vias: Via[];
  viaCount: number;
  routeLines: MultiValueLine[];
  callId: string;
  cseq: number;
  cseqMethod: string;
  fromTag: string;
  toTag: string;
  maxForwards: number | undefined;
  contentLength: number;
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
}

export class SipParseError extends Error {
  /** Enough was read to answer with 400 (a request with a Via, Call-ID, CSeq, From and To). */
  readonly answerable: boolean;
  readonly partial?: Partial<SipMessage>;
  constructor(message: string, answerable: boolean, partial?: Partial<SipMessage>) {
    super(message);
    this.name = 'SipParseError';
    this.answerable = answerable;
    this.partial = partial;
  }
}
