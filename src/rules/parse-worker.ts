import { parentPort } from 'node:worker_threads';
import { buildRules } from './load.js';
import type { RulesSnapshot } from './load.js';
import { RulesError } from './types.js';
import type { ParseReply } from './rules-parser.js';

/*
 * The rules parser's thread: it parses and validates a snapshot and posts the rule set back
 * (plain data and Maps, which cross the boundary by structured clone), so a big file never
 * holds the event loop that answers decisions.
 */
parentPort?.on('message', ({ id, snapshot }: { id: number; snapshot: RulesSnapshot }) => {
  let reply: ParseReply;
  try {
    reply = { id, loaded: buildRules(snapshot) };
  } catch (error) {
    // An Error loses its own fields in a structured clone: send what a RulesError is made of.
    reply =
      error instanceof RulesError
        ? { id, error: { file: error.file, line: error.line, reason: error.reason } }
        : { id, failure: error instanceof Error ? error.message : String(error) };
  }
  parentPort?.postMessage(reply);
});
