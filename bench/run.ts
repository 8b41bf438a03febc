/**
 * `npm run bench [section...]` (after a build): the sections named (or BENCH_ONLY=a,b), else the
 * default ones, BENCHMARKS.md's main run, each comparison side by side in alternating rounds,
 * ending with the targets of issue 8. `npm run bench -- --list` lists the sections
 * (bench/sections.ts); knobs: see BENCHMARKS.md.
 */
import { firstErrorMessages } from './harness.js';
import { readKnobs } from './knobs.js';
import type { Knobs } from './knobs.js';
import { describeMachine, loadAverage } from './machine.js';
import { DEFAULT_SECTIONS, SECTIONS, SECTION_GROUPS } from './sections.js';
import { Targets } from './targets.js';

const args = process.argv.slice(2);
if (args.includes('--list')) {
  for (const [name, section] of Object.entries(SECTIONS)) {
    const byDefault = DEFAULT_SECTIONS.includes(name as keyof typeof SECTIONS) ? ' (default)' : '';
    console.log(`${name.padEnd(15)} ${section.about}${byDefault}`);
  }
  for (const [name, members] of Object.entries(SECTION_GROUPS)) {
    console.log(`${name.padEnd(15)} = ${members.join(' + ')}`);
  }
  process.exit(0);
}

const knobs: Knobs = readKnobs(args);
const targets = new Targets();
const startedAt = performance.now();
console.log(describeMachine());
console.log(`sections: ${knobs.sections.join(', ')}`);
for (const name of knobs.sections) {
  console.log(`\n[${name}: load average ${loadAverage()}]`);
  await SECTIONS[name].run({ knobs, targets });
}
targets.print();
if (firstErrorMessages.size > 0) {
  console.log('\nErrors met (code: its first message)\n');
  for (const [code, message] of firstErrorMessages) console.log(`- ${code}: ${message}`);
}
console.log(
  `\nbench done in ${((performance.now() - startedAt) / 1000).toFixed(0)} s; load average at the end ${loadAverage()}`,
);
