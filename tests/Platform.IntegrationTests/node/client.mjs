// The official openai npm client as a caller of the gateway.
// usage: node client.mjs <baseURL> <apiKey> <model> <stream|complete>
// Prints one JSON line with what the client saw.
import OpenAI from 'openai';

const [baseURL, apiKey, model, mode] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 30_000 });
const messages = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Say hello to the platform.' },
];

try {
  if (mode === 'stream') {
    const stream = await client.chat.completions.create({
      model, messages, stream: true, stream_options: { include_usage: true },
    });
    let text = '';
    let chunks = 0;
    let usage = null;
    let platform = null;
    let finishReason = null;
    for await (const chunk of stream) {
      chunks += 1;
      text += chunk.choices[0]?.delta?.content ?? '';
      finishReason = chunk.choices[0]?.finish_reason ?? finishReason;
      if (chunk.usage) {
        usage = chunk.usage;
        platform = chunk.platform ?? null;
      }
    }
    console.log(JSON.stringify({ ok: true, text, chunks, usage, platform, finishReason }));
  } else {
    const { data, response } = await client.chat.completions.create({ model, messages }).withResponse();
    console.log(JSON.stringify({
      ok: true,
      text: data.choices[0].message.content,
      usage: data.usage,
      finishReason: data.choices[0].finish_reason,
      cost: response.headers.get('x-platform-cost-usd'),
      route: response.headers.get('x-platform-route'),
    }));
  }
} catch (err) {
  console.log(JSON.stringify({ ok: false, status: err.status ?? null, code: err.code ?? null, message: String(err.message) }));
}
