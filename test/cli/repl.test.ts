// The interactive session of `ollmlx run MODEL`, driven through a pseudo-terminal (Bun.Terminal) against the real
// server: typing, streamed answers, Ctrl-C stopping an answer but not the session, """ multi-line input, slash
// commands, history, and the ways out (/bye, Ctrl-D).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { cli, PtySession, tempHome } from "./cli.ts";
import { SHORT, startCliServer, type CliServer } from "./real-server.ts";

let s: CliServer;
beforeAll(async () => {
  s = await startCliServer();
}, 120_000);
afterAll(() => s.close());

/** An empty prompt shows this placeholder: the session is waiting for the next line. */
const READY = ">>> Send a message (/? for help)";
const chats = () => s.tap.requests.filter((r) => r.path === "/api/chat").map((r) => r.body as Record<string, unknown>);

async function until(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await Bun.sleep(20);
  }
}

/** How many fresh empty prompts the session has drawn so far. */
const prompts = (pty: PtySession) => pty.text.split(READY).length - 1;

/**
 * Types a message (keys already typed on the line count as its start) and waits for its whole answer: the chat
 * request reaches the server, then a fresh empty prompt is drawn. Returns where the screen is then.
 */
async function ask(pty: PtySession, message: string): Promise<number> {
  const before = chats().length;
  const drawn = prompts(pty);
  pty.type(`${message}\r`);
  await until(() => chats().length > before);
  await until(() => prompts(pty) > drawn, 60_000);
  return pty.text.lastIndexOf(READY) + READY.length;
}

describe("interactive run", () => {
  test("Ctrl-C stops a long answer at the server, the session goes on and answers the next message", async () => {
    const chatsBefore = chats().length;
    const hangupsBefore = s.tap.hangups.length;
    // tiny has no num_predict: its answer would run to the end of its 4096-token context (~15 s here)
    const pty = new PtySession(s.host, ["run", "tiny"]);
    let at = await pty.waitFor(READY, 0, 60_000);
    pty.type("tell me everything\r");
    await until(() => chats().length > chatsBefore);
    const echoed = await pty.waitFor("tell me everything", at);
    await pty.waitFor(/\S{20}/, echoed + 4); // the answer is coming in
    pty.type("\x03"); // Ctrl-C mid-answer
    at = await pty.waitFor(READY, echoed, 10_000);
    await until(() => s.tap.hangups.length > hangupsBefore, 5_000);
    expect(s.tap.hangups.slice(hangupsBefore)).toEqual(["/api/chat"]);
    expect(pty.text).not.toContain("Use Ctrl + d"); // that hint is for Ctrl-C at an empty prompt only

    // the cancelled turn's question stays, its answer does not; the next message gets a whole answer
    pty.type("/set parameter num_predict 3\r");
    at = await pty.waitFor("Set parameter 'num_predict' to '3'", at);
    at = await ask(pty, "again");
    const sent = chats().slice(chatsBefore);
    expect(sent.length).toBe(2);
    expect(sent[1]).toMatchObject({
      model: "tiny",
      options: { num_predict: 3 },
      messages: [
        { role: "user", content: "tell me everything" },
        { role: "user", content: "again" },
      ],
    });
    pty.type("/bye\r");
    expect(await pty.exit()).toBe(0);
  }, 90_000);

  test('answers join the conversation; """ multi-line input; /set system; /show; /clear; /save makes a listed model', async () => {
    const pty = new PtySession(s.host, ["run", SHORT]);
    let at = await pty.waitFor(READY, 0, 60_000);
    at = await ask(pty, "hi");

    pty.type('"""first line\r');
    at = await pty.waitFor("... ", at);
    at = await ask(pty, 'second line"""');
    const [, answer, third] = chats().at(-1)!.messages as { role: string; content: string }[];
    expect(chats().at(-1)!.messages).toEqual([{ role: "user", content: "hi" }, { role: "assistant", content: answer!.content }, third]);
    expect(answer!.content.length).toBeGreaterThan(0);
    expect(third).toEqual({ role: "user", content: "first line\nsecond line" });

    pty.type("/set system You are a pirate.\r");
    at = await pty.waitFor("Set system message.", at);
    pty.type("/show system\r");
    at = await pty.waitFor("You are a pirate.", at);
    pty.type("/set parameter temperature 0.1\r");
    at = await pty.waitFor("Set parameter 'temperature' to '0.1'", at);
    pty.type("/show parameters\r");
    at = await pty.waitFor(/Model defined parameters:\n {2}num_predict {20}8\n {2}seed {27}3\n\nUser defined parameters:\n {2}temperature {20}0\.1/, at);
    pty.type("/show info\r");
    at = await pty.waitFor(/ {2}Model\n {4}architecture {8}qwen3 +\n {4}parameters {10}1\.6M/, at);
    pty.type("/show modelfile\r");
    at = await pty.waitFor(/FROM [^\n]+\n[^]*SYSTEM """You are a pirate\."""/, at);

    pty.type("/clear\r");
    at = await pty.waitFor("Cleared session context", at);
    at = await ask(pty, "ahoy");
    const last = chats().at(-1)!;
    expect(last).toMatchObject({
      messages: [
        { role: "system", content: "You are a pirate." },
        { role: "user", content: "ahoy" },
      ],
      options: { temperature: 0.1 },
    });

    pty.type("/save pirate\r");
    at = await pty.waitFor("Created new model 'pirate'", at);
    pty.type("/bye\r");
    expect(await pty.exit()).toBe(0);
    expect(s.tap.last("/api/create")).toMatchObject({ model: "pirate", from: SHORT, system: "You are a pirate.", parameters: { temperature: 0.1 } });
    expect((await cli(s.host, ["list"])).stdout).toContain("\npirate:latest ");
    expect((await cli(s.host, ["show", "pirate", "--system"])).stdout).toStartWith("You are a pirate.");
  }, 90_000);

  test("/? help, /set verbose timings, /set think and nothink, /load, unknown commands, Ctrl-C at the prompt, Ctrl-D exits 0", async () => {
    const pty = new PtySession(s.host, ["run", SHORT]);
    let at = await pty.waitFor(READY, 0, 60_000);
    pty.type("/?\r");
    at = await pty.waitFor('Use """ to begin a multi-line message.', at);
    expect(pty.text).toContain("  /set            Set session variables");
    pty.type("/set\r");
    at = await pty.waitFor("/set nothink           Disable thinking", at);
    pty.type("/set verbose\r");
    at = await pty.waitFor("Set 'verbose' mode.", at);
    pty.type("x\r");
    at = await pty.waitFor(/total duration: {7}\S+\n[^]*eval count: {11}8 token\(s\)\n[^]*eval rate: {12}\d+\.\d\d tokens\/s/, at);
    pty.type("/set quiet\r");
    at = await pty.waitFor("Set 'quiet' mode.", at);
    pty.type("/set nothink\r");
    at = await pty.waitFor("Set 'nothink' mode.", at);
    at = await ask(pty, "y");
    expect(chats().at(-1)!.think).toBe(false);
    pty.type("/set think\r");
    at = await pty.waitFor("Set 'think' mode.", at);
    at = await ask(pty, "z");
    expect(chats().at(-1)!.think).toBe(true);

    pty.type("/load ghost\r");
    at = await pty.waitFor("Couldn't find model 'ghost'", at);
    pty.type("/load tiny\r");
    at = await pty.waitFor("Loading model 'tiny'", at);
    at = await pty.waitFor(READY, at);
    pty.type("/set parameter num_predict 2\r");
    at = await pty.waitFor("Set parameter 'num_predict' to '2'", at);
    at = await ask(pty, "w");
    expect(chats().at(-1)).toMatchObject({ model: "tiny", messages: [{ role: "user", content: "w" }] });

    pty.type("/frob\r");
    at = await pty.waitFor("Unknown command '/frob'. Type /? for help", at);
    pty.type("\x03");
    at = await pty.waitFor("Use Ctrl + d or /bye to exit.", at);
    pty.type("\x04");
    expect(await pty.exit()).toBe(0);
  }, 90_000);

  test("/set format json sends format json with the next message; a refusal from the server is one line", async () => {
    const pty = new PtySession(s.host, ["run", SHORT]);
    const at = await pty.waitFor(READY, 0, 60_000);
    pty.type("/set format json\r");
    await pty.waitFor("Set format to 'json' mode.", at);
    const before = chats().length;
    pty.type("give me json\r");
    await until(() => chats().length > before);
    expect(chats().at(-1)).toMatchObject({ format: "json", messages: [{ role: "user", content: "give me json" }] });
    // Constrained decoding is the server's business: it answers (the session goes on) or refuses (one Error line).
    await pty.waitFor(/Send a message \(\/\? for help\)|Error: [^\n]+\n/, at, 30_000);
    if (/Error: /.test(pty.text)) {
      expect(await pty.exit()).toBe(1);
      expect(pty.text).not.toMatch(/\n\s+at /); // no stack trace
    } else {
      pty.type("/bye\r");
      expect(await pty.exit()).toBe(0);
    }
  }, 60_000);

  test("history: lines are saved to ~/.ollmlx/history and the up arrow brings them back; OLLAMA_NOHISTORY saves none", async () => {
    const home = tempHome();
    const pty = new PtySession(s.host, ["run", SHORT], { HOME: home });
    let at = await pty.waitFor(READY, 0, 60_000);
    at = await ask(pty, "first question");
    pty.type("typo\x7f\x7f\x7f\x7f"); // backspace erases what was typed (and shows the empty prompt again)
    await pty.waitFor(READY, at);
    at = await ask(pty, "second");
    at = await ask(pty, "\x1b[A\x1b[A"); // up, up: the first question again
    pty.type("/bye\r");
    expect(await pty.exit()).toBe(0);
    expect(chats().at(-1)!.messages).toMatchObject([{ content: "first question" }, {}, { content: "second" }, {}, { role: "user", content: "first question" }]);
    expect(readFileSync(join(home, ".ollmlx", "history"), "utf8")).toBe("first question\nsecond\nfirst question\n/bye\n");

    const quiet = tempHome();
    const pty2 = new PtySession(s.host, ["run", SHORT], { HOME: quiet, OLLAMA_NOHISTORY: "1" });
    const start = await pty2.waitFor(READY, 0, 60_000);
    await ask(pty2, "secret");
    pty2.type("/bye\r");
    expect(await pty2.exit()).toBe(0);
    expect(existsSync(join(quiet, ".ollmlx", "history"))).toBe(false);
  }, 90_000);
});
