#!/usr/bin/env node
/** `mars-ft`: the command line. One file per subcommand; this one dispatches. */
import { build, buildHelp } from './build.js';
import { demo, demoHelp } from './demo.js';
import { finetune, finetuneHelp } from './finetune.js';
import { bound, boundHelp } from './bound.js';
import { inspect, inspectHelp } from './inspect.js';
import { predict, predictHelp } from './predict.js';
import { searchCommand, searchHelp } from './search.js';
import { experiment, experimentHelp } from './experiment.js';
import { report, reportHelp } from './report.js';
import { codeOf, hasCode } from '../errors.js';
import { packageInfo } from '../native/loader.js';
import { UsageError } from './usage.js';

interface Command {
  summary: string;
  help: string;
  run(argv: string[]): Promise<void>;
}

const COMMANDS: Record<string, Command> = {
  demo: { summary: 'fine-tune the embedded backbone with MARS-SP and without; compare', help: demoHelp, run: demo },
  finetune: { summary: 'fine-tune a TorchScript backbone on labelled data', help: finetuneHelp, run: finetune },
  search: { summary: "choose a method's hyperparameters by cross-validation, in parallel, resumably", help: searchHelp, run: searchCommand },
  experiment: { summary: 'compare every regulariser with the same search budget over paired seeds, resumably', help: experimentHelp, run: experiment },
  predict: { summary: 'classify images with a fine-tuned model', help: predictHelp, run: predict },
  inspect: { summary: 'list the parameters and buffers of a TorchScript file', help: inspectHelp, run: inspect },
  bound: { summary: 'the generalisation bound of a fine-tuned network (distances from its initial weights)', help: boundHelp, run: bound },
  build: { summary: 'build the native addon from source for the LibTorch found here', help: buildHelp, run: build },
  report: { summary: 'an HTML report of a finetune run: curves, distances against radii, bound, settings', help: reportHelp, run: report },
};

const HELP = `mars-ft: fine-tune TorchScript networks with distance-based regularisation (MARS-SP)

Usage: mars-ft <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}

mars-ft <command> --help shows a command's options; mars-ft --version the package's version.`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    const about = name === 'help' && rest[0] ? COMMANDS[rest[0]] : undefined;
    process.stdout.write((about ? about.help : HELP) + '\n');
    return 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${packageInfo().version}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`mars-ft: unknown command '${name}'\n\n${HELP}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.help + '\n');
    return 0;
  }
  try {
    await command.run(rest);
    return 0;
  } catch (e) {
    if (e instanceof UsageError || codeOf(e)?.startsWith('ERR_PARSE_ARGS_')) {
      process.stderr.write(`mars-ft ${name}: ${(e as Error).message}\n\n${e instanceof UsageError ? e.help : command.help}\n`);
      return 2;
    }
    const code = codeOf(e);
    if (code === 'ERR_ABORTED') {
      process.stderr.write(`\nmars-ft ${name}: ${(e as Error).message}\n`);
      return 130;
    }
    process.stderr.write(`mars-ft ${name}: error${code ? ` [${code}]` : ''}: ${(e as Error).message}\n`);
    return 1;
  }
}

// A reader that stops early (`mars-ft predict ... | head`) closes the pipe: that ends the output, quietly.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit(process.exitCode ?? 0);
});

process.exitCode = await main(process.argv.slice(2));
