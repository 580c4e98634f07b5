/** Ended by Ctrl-C at a prompt. */
export class PromptCancelled extends Error {
  override name = 'PromptCancelled';
}

const ENTER = new Set(['\r', '\n']);
const ERASE = new Set(['\u007f', '\b']);
const CTRL_C = '\u0003';
const CTRL_D = '\u0004';

/**
 * Reads one line per prompt from the terminal without echo (raw mode, nothing written back), as
 * passwd and ssh do. Prompts go to stderr, so stdout carries only the command's output. Typed
 * ahead text (a paste of several lines) is kept for the next prompt.
 */
export function promptHidden(prompts: string[], input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const answers: string[] = [];
    let current: string[] = [];
    const finish = (err?: Error) => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolve(answers);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === CTRL_C) return finish(new PromptCancelled('cancelled'));
        if (ENTER.has(ch) || ch === CTRL_D) {
          answers.push(current.join(''));
          current = [];
          if (answers.length === prompts.length) return finish();
          output.write(`\n${prompts[answers.length]}`);
        } else if (ERASE.has(ch)) current.pop();
        else if (ch >= ' ') current.push(ch);
      }
    };
    input.setRawMode(true);
    input.setEncoding('utf8');
    input.on('data', onData);
    input.resume();
    output.write(prompts[0] ?? '');
  });
}
