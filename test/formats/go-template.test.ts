// Go text/template semantics as Ollama's templates rely on them, with expected text derived from Go's rules.
import { describe, expect, test } from "bun:test";
import {
  GoTemplate,
  TemplateExecError,
  TemplateSyntaxError,
  UnsupportedTemplateError,
  type TemplateValues,
} from "../../src/formats/tokenizer/go-template/index.ts";

const render = (src: string, values: TemplateValues = {}) => GoTemplate.parse(src).execute(values);
const chat = (src: string, extra: Partial<TemplateValues> = {}) =>
  render(src, {
    messages: [
      { role: "system", content: "S" },
      { role: "user", content: "U1" },
      { role: "assistant", content: "A1" },
      { role: "user", content: "U2" },
    ],
    ...extra,
  });

/** A legacy template over a lone system message renders once, with .System set. */
const withSystem = (src: string) => render(src, { messages: [{ role: "system", content: "S" }] });

describe("syntax", () => {
  test("trim markers eat all whitespace on their side, and only with a space next to the dash", () => {
    expect(withSystem("a \n {{- .System -}} \n\t b")).toBe("aSb");
    expect(withSystem("{{ .System }} {{-3}}")).toBe("S -3");
    expect(withSystem("x {{- /* gone */ -}} y{{/* also */}}!")).toBe("xy!");
  });

  test("literals: strings with escapes, raw strings, numbers, bools, nil, chars", () => {
    expect(render('{{ "a\\tb\\u00e9" }}|{{ `raw\\n` }}|{{ 42 }}|{{ -1.5 }}|{{ true }}|{{ 0x1F }}|{{ \'A\' }}')).toBe(
      "a\tbé|raw\\n|42|-1.5|true|31|65",
    );
  });

  test("invalid templates throw Go-style syntax errors with the line", () => {
    expect(() => GoTemplate.parse("ok\n{{ if .X }}")).toThrow(TemplateSyntaxError);
    expect(() => GoTemplate.parse("{{ nosuch 1 }}")).toThrow('template: :1: function "nosuch" not defined');
    expect(() => GoTemplate.parse("{{ $x }}")).toThrow('undefined variable "$x"');
    expect(() => GoTemplate.parse("{{ end }}")).toThrow(TemplateSyntaxError);
    expect(() => GoTemplate.parse("{{ break }}")).toThrow(TemplateSyntaxError);
  });

  test("constructs outside the supported set are refused by name", () => {
    expect(() => GoTemplate.parse('{{ define "a" }}x{{ end }}')).toThrow(UnsupportedTemplateError);
    expect(() => GoTemplate.parse('{{ template "a" }}')).toThrow("{{template}}");
    expect(() => GoTemplate.parse("{{ html .Prompt }}")).toThrow('the function "html"');
  });
});

describe("control structures", () => {
  test("if / else if / else picks the first true branch", () => {
    const src = '{{ range .Messages }}{{ if eq .Role "system" }}s{{ else if eq .Role "user" }}u{{ else }}a{{ end }}{{ end }}';
    expect(chat(src)).toBe("suau");
  });

  test("range binds index and element, $ reaches the root, and slice/len find the last message", () => {
    const src = "{{ range $i, $m := .Messages }}{{ $i }}={{ $m.Content }}{{ if eq (len (slice $.Messages $i)) 1 }}!{{ end }};{{ end }}";
    expect(chat(src)).toBe("0=S;1=U1;2=A1;3=U2!;");
  });

  test("range with $_, break, continue and else on an empty list", () => {
    expect(chat('{{ range $i, $_ := .Messages }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ if eq $i 3 }}{{ break }}{{ end }}{{ .Role }} {{ end }}')).toBe(
      "system assistant ",
    );
    expect(render("{{ range .Messages }}x{{ else }}none{{ end }}", { messages: [] })).toBe("none");
    expect(render("{{ range 3 }}{{ . }}{{ end }}")).toBe("012");
  });

  test("with sets dot when the value is non-empty, else runs the else branch", () => {
    expect(withSystem("{{ with .System }}<{{ . }}>{{ else }}no{{ end }}")).toBe("<S>");
    expect(render("{{ with .Messages }}x{{ else }}empty{{ end }}", { messages: [] })).toBe("empty");
  });

  test("variables: declared in a range they live until its end; = assigns to the outer one", () => {
    const src = '{{ $last := "" }}{{ range .Messages }}{{ $last = .Role }}{{ $tmp := 1 }}{{ end }}{{ $last }}';
    expect(chat(src)).toBe("user");
    expect(() => GoTemplate.parse("{{ range .Messages }}{{ $tmp := 1 }}{{ end }}{{ $tmp }}")).toThrow('undefined variable "$tmp"');
  });
});

describe("functions and values", () => {
  test("comparisons, and/or returning the deciding operand, not", () => {
    expect(render('{{ and 1 0 2 }}|{{ or 0 "" "x" }}|{{ not 0 }}|{{ lt 1 2 }}|{{ ge "b" "a" }}|{{ ne 1 1 }}|{{ eq 2 1 2 }}')).toBe(
      "0|x|true|true|true|false|true",
    );
  });

  test("comparing different kinds is an execution error, as in Go", () => {
    expect(() => render('{{ eq 1 "1" }}')).toThrow(TemplateExecError);
    expect(() => render('{{ eq 1 "1" }}')).toThrow("incompatible types for comparison");
    expect(render('{{ eq .Missing "x" }}')).toBe("false");
  });

  test("print, printf and len follow fmt (len counts bytes)", () => {
    expect(render('{{ print 1 2 "a" "b" 3 }}|{{ printf "%s=%d %q %5.2f%%" "k" 7 "q" 3.14159 }}|{{ len "héllo" }}')).toBe(
      '1 2ab3|k=7 "q"  3.14%|6',
    );
    expect(render('{{ "x" | printf "%s-%s" "a" }}')).toBe("a-x");
  });

  test("index reaches slice elements and map keys; out of range is an error", () => {
    const v: TemplateValues = { messages: [{ role: "assistant", tool_calls: [{ function: { name: "f", arguments: { b: 1, a: "x" } } }] }] };
    expect(render('{{ (index .Messages 0).Role }} {{ index (index .Messages 0).ToolCalls 0 | json }}', v)).toBe(
      'assistant {"ID":"","Function":{"Index":0,"Name":"f","Arguments":{"a":"x","b":1}}}',
    );
    expect(() => render("{{ index .Messages 5 }}", v)).toThrow("index out of range: 5");
  });

  test("tool arguments print as JSON with sorted keys, range over them in key order, floats print as Go's %v", () => {
    const v: TemplateValues = {
      messages: [{ role: "assistant", tool_calls: [{ function: { name: "f", arguments: { z: 1000000, a: "<b>", m: 2.5 } } }] }],
    };
    const src = "{{ range .Messages }}{{ range .ToolCalls }}{{ .Function.Arguments }}|{{ range $k, $v := .Function.Arguments }}{{ $k }}={{ $v }};{{ end }}{{ end }}{{ end }}";
    expect(render(src, v)).toBe('{"a":"\\u003cb\\u003e","m":2.5,"z":1000000}|a=<b>;m=2.5;z=1e+06;');
  });

  test("a missing key of the values prints <no value>; an unknown message field is an error", () => {
    expect(chat("[{{ .Prompt }}]{{ range .Messages }}{{ end }}")).toBe("[<no value>]");
    expect(() => chat("{{ range .Messages }}{{ .Nope }}{{ end }}")).toThrow("can't evaluate field Nope in type *template.templateMessage");
    expect(() => chat("{{ .System.Name }}{{ .Messages }}")).toThrow("can't evaluate field Name in type string");
  });

  test("tools: .Tools prints as JSON, properties range in sorted order, toTypeScriptType maps schema types", () => {
    const tools = [
      {
        type: "function",
        function: {
          name: "get",
          description: "d",
          parameters: { type: "object", required: ["q"], properties: { q: { type: "string" }, n: { type: ["integer", "null"] } } },
        },
      },
    ];
    const src = "{{ .Tools }}\n{{ range .Tools }}{{ range $k, $p := .Function.Parameters.Properties }}{{ $k }}: {{ toTypeScriptType $p }}; {{ end }}{{ end }}{{ .Messages }}";
    expect(render(src, { messages: [], tools }).split("\n")).toEqual([
      '[{"type":"function","function":{"name":"get","description":"d","parameters":{"type":"object","required":["q"],"properties":{"n":{"type":["integer","null"]},"q":{"type":"string"}}}}}]',
      "n: number | null; q: string; []",
    ]);
  });

  test("a runaway template fails with an execution error instead of exhausting memory or time", () => {
    const huge = { messages: [{ role: "system", content: "x".repeat(1 << 20) }] };
    expect(() => render("{{ range 1000 }}{{ $.System }}{{ end }}", huge)).toThrow("the rendered prompt exceeds");
    expect(() => render("{{ range 100000000 }}{{ end }}")).toThrow("range ran more than");
  });

  test("currentDate is today's local date", () => {
    const d = new Date();
    const two = (x: number) => String(x).padStart(2, "0");
    expect(render("{{ currentDate }}")).toBe(`${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`);
  });
});

describe("Ollama's execution modes", () => {
  test("a legacy template renders each past turn whole and cuts the last one after {{ .Response }}", () => {
    const src = "{{ if .System }}<s>{{ .System }}</s>{{ end }}[U]{{ .Prompt }}[A]{{ .Response }}[END]";
    expect(chat(src)).toBe("<s>S</s>[U]U1[A]A1[END][U]U2[A]");
  });

  test("a template without .Response gets it appended, so past answers are kept", () => {
    expect(chat("{{ .Prompt }}=>")).toBe("U1=>A1U2=>");
  });

  test("consecutive messages of one role are merged, and all system messages form .System", () => {
    const messages = [
      { role: "system", content: "a" },
      { role: "system", content: "b" },
      { role: "user", content: "u" },
      { role: "user", content: "v" },
    ];
    expect(render("{{ .System }}|{{ range .Messages }}{{ .Role }}:{{ .Content }};{{ end }}", { messages })).toBe("a\n\nb|system:a\n\nb;user:u\n\nv;");
  });

  test("prompt and suffix render the fill-in-the-middle form", () => {
    const src = "{{ if .Suffix }}<PRE>{{ .Prompt }}<SUF>{{ .Suffix }}<MID>{{ else }}{{ .Prompt }}{{ end }}";
    expect(render(src, { prompt: "def f(", suffix: "return x" })).toBe("<PRE>def f(<SUF>return x<MID>");
  });

  test("think values reach the template", () => {
    const src = "{{ if .IsThinkSet }}{{ .Think }}/{{ .ThinkLevel }}{{ end }}{{ .Messages }}";
    expect(render(src, { messages: [], think: true, thinkLevel: "high", isThinkSet: true })).toBe("true/high[]");
    expect(render(src, { messages: [] })).toBe("[]");
  });
});
