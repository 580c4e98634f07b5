import { read } from 'read';

/** Ended by Ctrl-C at a prompt. */
export class PromptCancelled extends Error {
  override name = 'PromptCancelled';
}

/**
 * Reads one line per prompt from the terminal without echo, as passwd and ssh do (npm's `read`,
 * silent). Prompts go to stderr, so stdout carries only the command's output.
 */
export async function promptHidden(prompts: string[]): Promise<string[]> {
  const answers: string[] = [];
  for (const prompt of prompts) {
    try {
      answers.push(await read({ prompt, silent: true, replace: '', output: process.stderr }));
    } catch (err) {
      if ((err as Error).message === 'canceled') throw new PromptCancelled('cancelled');
      throw err;
    }
  }
  return answers;
}
