// The interactive session of `ollmlx run MODEL`, driven through a pseudo-terminal (Bun.Terminal) against a stub of
// the server's HTTP: typing, streamed answers, Ctrl-C stopping an answer but not the session, """ multi-line
// input, slash commands, history, and the ways out (/bye, Ctrl-D).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PtySession, tempHome } from "./cli.ts";
import { startStub, type Stub } from "./stub-server.ts";

let stub: Stub;
beforeAll(() => {
  stub = startStub();
});
afterAll(() => stub.close());

const chats = () => stub.requests.filter((r) => r.path === "/api/chat").map((r) => r.body as Record<string, unknown>);

describe("interactive run", () => {
  test("a message gets a streamed answer; Ctrl-C stops a long answer, the session goes on, /bye exits 0", async () => {
    const abortedBefore = stub.aborted.length;
    const chatsBefore = chats().length;
    const pty = new PtySession(stub.url, ["run", "slow"]);
    let at = await pty.waitFor(">>> Send a message (/? for help)");
    pty.type("tell me everything\r");
    at = await pty.waitFor("word3 ", at);
    pty.type("\x03"); // Ctrl-C mid-answer
    at = await pty.waitFor(">>> ", at);
    await Bun.sleep(100);
    expect(stub.aborted.length).toBe(abortedBefore + 1); // the request was cancelled at the server
    expect(pty.text).not.toContain("word199");
    expect(pty.text).not.toContain("Use Ctrl + d"); // that hint is for Ctrl-C at an empty prompt only

    // the session is still there and answers again; the cancelled turn's question stays, its answer does not
    pty.type("/set parameter num_predict 3\r");
    at = await pty.waitFor("Set parameter 'num_predict' to '3'", at);
    pty.type("again\r");
    at = await pty.waitFor("word1 ", at);
    pty.type("\x03");
    at = await pty.waitFor(">>> ", at);
    const sent = chats().slice(chatsBefore);
    expect(sent.length).toBe(2);
    expect(sent[1]).toMatchObject({
      model: "slow",
      options: { num_predict: 3 },
      messages: [
        { role: "user", content: "tell me everything" },
        { role: "user", content: "again" },
      ],
    });
    pty.type("/bye\r");
    expect(await pty.exit()).toBe(0);
  });

  test('answers join the conversation; """ multi-line input; /set system; /show; /clear; /save', async () => {
    const pty = new PtySession(stub.url, ["run", "llama3.2"]);
    let at = await pty.waitFor(">>> ");
    pty.type("hi\r");
    at = await pty.waitFor("You said: hi", at);
    at = await pty.waitFor(">>> ", at);

    pty.type('"""first line\r');
    at = await pty.waitFor("... ", at);
    pty.type('second line"""\r');
    at = await pty.waitFor("You said: first line", at);
    at = await pty.waitFor(">>> ", at);
    expect(chats().at(-1)!.messages).toEqual([
      { role: "user", content: "hi" },
      { role: "assistant", content: "You said: hi" },
      { role: "user", content: "first line\nsecond line" },
    ]);

    pty.type("/set system You are a pirate.\r");
    at = await pty.waitFor("Set system message.", at);
    pty.type("/show system\r");
    at = await pty.waitFor("You are a pirate.", at);
    pty.type("/set parameter temperature 0.1\r");
    at = await pty.waitFor("Set parameter 'temperature' to '0.1'", at);
    pty.type("/show parameters\r");
    at = await pty.waitFor(/User defined parameters:\n {2}temperature {20}0\.1/, at);

    pty.type("/clear\r");
    at = await pty.waitFor("Cleared session context", at);
    pty.type("ahoy\r");
    at = await pty.waitFor("You said: ahoy", at);
    at = await pty.waitFor(">>> ", at);
    expect(chats().at(-1)).toMatchObject({
      messages: [
        { role: "system", content: "You are a pirate." },
        { role: "user", content: "ahoy" },
      ],
      options: { temperature: 0.1 },
    });

    pty.type("/save pirate\r");
    at = await pty.waitFor("Created new model 'pirate'", at);
    expect(stub.requests.filter((r) => r.path === "/api/create").at(-1)!.body).toEqual({
      model: "pirate",
      from: "llama3.2",
      system: "You are a pirate.",
      parameters: { temperature: 0.1 },
      messages: [
        { role: "system", content: "You are a pirate." },
        { role: "user", content: "ahoy" },
        { role: "assistant", content: "You said: ahoy" },
      ],
    });
    pty.type("/bye\r");
    expect(await pty.exit()).toBe(0);
  });

  test("/? help, /set verbose timings, /load, unknown commands, Ctrl-C at the prompt, Ctrl-D exits 0", async () => {
    const pty = new PtySession(stub.url, ["run", "llama3.2"]);
    let at = await pty.waitFor(">>> ");
    pty.type("/?\r");
    at = await pty.waitFor('Use """ to begin a multi-line message.', at);
    expect(pty.text).toContain("  /set            Set session variables");
    pty.type("/set\r");
    at = await pty.waitFor("/set nothink           Disable thinking", at);
    pty.type("/set verbose\r");
    at = await pty.waitFor("Set 'verbose' mode.", at);
    pty.type("x\r");
    at = await pty.waitFor(/total duration: {7}1\.234567891s\n[^]*eval rate: {12}65\.24 tokens\/s/, at);
    pty.type("/set quiet\r");
    at = await pty.waitFor("Set 'quiet' mode.", at);

    pty.type("/load ghost\r");
    at = await pty.waitFor("Couldn't find model 'ghost'", at);
    pty.type("/load smollm2:135m\r");
    at = await pty.waitFor("Loading model 'smollm2:135m'", at);
    at = await pty.waitFor(">>> ", at);
    pty.type("y\r");
    at = await pty.waitFor("You said: y", at);
    expect(chats().at(-1)).toMatchObject({ model: "smollm2:135m", messages: [{ role: "user", content: "y" }] });

    pty.type("/frob\r");
    at = await pty.waitFor("Unknown command '/frob'. Type /? for help", at);
    pty.type("\x03");
    at = await pty.waitFor("Use Ctrl + d or /bye to exit.", at);
    pty.type("\x04");
    expect(await pty.exit()).toBe(0);
  });

  test("history: lines are saved to ~/.ollmlx/history and the up arrow brings them back; OLLAMA_NOHISTORY saves none", async () => {
    const home = tempHome();
    const pty = new PtySession(stub.url, ["run", "llama3.2"], { HOME: home });
    let at = await pty.waitFor(">>> ");
    pty.type("first question\r");
    at = await pty.waitFor("You said: first question", at);
    at = await pty.waitFor(">>> ", at);
    pty.type("typo\x7f\x7f\x7f\x7fsecond\r"); // backspace erases what was typed
    at = await pty.waitFor("You said: second", at);
    at = await pty.waitFor(">>> ", at);
    pty.type("\x1b[A\x1b[A\r"); // up, up: the first question again
    at = await pty.waitFor("You said: first question", at);
    at = await pty.waitFor(">>> ", at);
    pty.type("/bye\r");
    expect(await pty.exit()).toBe(0);
    expect(chats().at(-1)!.messages).toMatchObject([{}, {}, { content: "second" }, {}, { role: "user", content: "first question" }]);
    expect(readFileSync(join(home, ".ollmlx", "history"), "utf8")).toBe("first question\nsecond\nfirst question\n/bye\n");

    const quiet = tempHome();
    const pty2 = new PtySession(stub.url, ["run", "llama3.2"], { HOME: quiet, OLLAMA_NOHISTORY: "1" });
    await pty2.waitFor(">>> ");
    pty2.type("secret\r");
    await pty2.waitFor("You said: secret");
    pty2.type("/bye\r");
    expect(await pty2.exit()).toBe(0);
    expect(existsSync(join(quiet, ".ollmlx", "history"))).toBe(false);
  });
});
