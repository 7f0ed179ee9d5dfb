/**
 * An incremental CSV reader (RFC 4180): comma-separated fields, fields in double quotes may hold
 * commas, line breaks and doubled quotes (`""`), records end at LF or CRLF. Text arrives in chunks
 * of any size (a quoted field may span chunks), so a file of any length is read in constant memory.
 * Each record comes back with the line it started on, for error messages.
 * @module
 */
import { EDGE_ERR, EdgeError } from '../errors.ts';

/** One parsed record: its fields and the 1-based line it starts on. */
export interface CsvRecord {
  readonly fields: readonly string[];
  readonly line: number;
}

/**
 * Splits CSV text into records, chunk by chunk.
 * @example
 * ```ts
 * const csv = new CsvReader('ai4i2020.csv');
 * const records = [...csv.push('a,"b,1"\r\n1,'), ...csv.push('2\n'), ...csv.end()];
 * // → [{ fields: ['a', 'b,1'], line: 1 }, { fields: ['1', '2'], line: 2 }]
 * ```
 */
export class CsvReader {
  readonly #source: string;
  #field = '';
  #fields: string[] = [];
  #quoted = false;
  /** The previous character closed a quote (a following `"` is an escaped quote). */
  #afterQuote = false;
  /** The previous character was a CR outside quotes (a following LF belongs to it). */
  #afterCr = false;
  #line = 1;
  #recordLine = 1;
  /** The current record has content (so a lone line break is not an empty record). */
  #started = false;

  /** @param source - the file's name, for error messages */
  constructor(source: string) {
    this.#source = source;
  }

  /**
   * Feeds a chunk of text and returns the records it completed.
   * @throws EdgeError `EDGE_ERR_REPLAY_FORMAT` on a quote inside an unquoted field or text after a closing quote
   */
  push(chunk: string): CsvRecord[] {
    const out: CsvRecord[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (this.#afterCr) {
        this.#afterCr = false;
        if (c === '\n') continue;
      }
      if (this.#quoted) {
        if (c === '"') {
          this.#quoted = false;
          this.#afterQuote = true;
        } else {
          if (c === '\n') this.#line++;
          this.#field += c;
        }
        continue;
      }
      if (c === '"') {
        if (this.#afterQuote) {
          this.#field += '"';
          this.#quoted = true;
          this.#afterQuote = false;
        } else if (this.#field.length === 0) {
          this.#quoted = true;
          this.#started = true;
        } else {
          throw this.#error('a quote inside an unquoted field');
        }
        continue;
      }
      if (c === ',') {
        this.#fields.push(this.#field);
        this.#field = '';
        this.#afterQuote = false;
        this.#started = true;
      } else if (c === '\n' || c === '\r') {
        if (c === '\r') this.#afterCr = true;
        if (this.#started || this.#field.length > 0) out.push(this.#finish());
        this.#line++;
        this.#recordLine = this.#line;
      } else {
        if (this.#afterQuote) throw this.#error('text after a closing quote');
        this.#field += c;
        this.#started = true;
      }
    }
    return out;
  }

  /**
   * Ends the input and returns the last record, if the text did not end with a line break.
   * @throws EdgeError `EDGE_ERR_REPLAY_FORMAT` if a quoted field is still open
   */
  end(): CsvRecord[] {
    if (this.#quoted) throw this.#error('the file ends inside a quoted field');
    return this.#started || this.#field.length > 0 ? [this.#finish()] : [];
  }

  #finish(): CsvRecord {
    this.#fields.push(this.#field);
    const record = { fields: this.#fields, line: this.#recordLine };
    this.#fields = [];
    this.#field = '';
    this.#afterQuote = false;
    this.#started = false;
    return record;
  }

  #error(reason: string): EdgeError {
    return new EdgeError(EDGE_ERR.REPLAY_FORMAT, `cannot read CSV: ${reason} (${this.#source} line ${this.#line})`);
  }
}
