// civicline browser phone: the page's side of the Media Streams message shapes (DESIGN §8).
//
// Call posts for a call and its one-time token, opens /phone/stream and sends `connected`
// and `start` (audio/l16, 16 kHz, mono; samples big-endian as RFC 3551 defines L16). The
// microphone goes out as `media` frames of 20 ms (phone-capture.js), the keypad as `dtmf`,
// Hang up as `stop`. Prompt audio comes in as `media` frames, played in order; a `mark` is
// sent back once everything before it has played, and `clear` stops what is queued (its
// marks are sent back at once, as Twilio does). The transcript is read from the call's
// stored rows. `window.civiclinePhone` holds the counters the page shows.
"use strict";

(() => {
  const root = document.getElementById("phone");
  const RATE = Number(root.dataset.rate);
  const FRAME = RATE / 50;
  const POLL_MS = 500;
  const stats = {
    state: "idle", call: null, node: null, ref: null, ended: false,
    sentSamples: 0, receivedSamples: 0, playedSamples: 0, receivedPeak: 0, marks: 0, cleared: 0,
  };
  window.civiclinePhone = stats;

  const $ = (id) => document.getElementById(id);
  const keys = [...document.querySelectorAll("#keypad button")];
  let socket = null;
  let context = null;
  let microphone = null;
  let streamSid = "";
  let sequence = 0;
  let playhead = 0;
  let playing = new Set();
  let lastSource = null;
  let after = 0;
  let polling = null;

  function show() {
    $("state").textContent = stats.state;
    $("received").textContent = (stats.receivedSamples / RATE).toFixed(1);
    $("played").textContent = (stats.playedSamples / RATE).toFixed(1);
    $("marks").textContent = String(stats.marks);
    $("sent").textContent = (stats.sentSamples / RATE).toFixed(1);
    $("call").disabled = stats.state !== "idle" && stats.state !== "ended";
    $("hang-up").disabled = stats.state !== "in call";
    for (const key of keys) key.disabled = stats.state !== "in call";
  }

  function send(message) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    sequence += 1;
    socket.send(JSON.stringify({ ...message, sequenceNumber: String(sequence), streamSid }));
  }

  function base64(bytes) {
    let text = "";
    for (let i = 0; i < bytes.length; i += 1) text += String.fromCharCode(bytes[i]);
    return btoa(text);
  }

  function sendFrame(buffer) {
    const samples = new Int16Array(buffer);
    const wire = new DataView(new ArrayBuffer(samples.length * 2));
    samples.forEach((value, i) => wire.setInt16(i * 2, value, false));
    const timestamp = String(Math.round((stats.sentSamples / RATE) * 1000));
    stats.sentSamples += samples.length;
    send({ event: "media", media: { track: "inbound", timestamp, payload: base64(new Uint8Array(wire.buffer)) } });
  }

  function play(payload) {
    const bytes = Uint8Array.from(atob(payload), (c) => c.charCodeAt(0));
    const wire = new DataView(bytes.buffer);
    const count = Math.floor(bytes.length / 2);
    const buffer = context.createBuffer(1, count, RATE);
    const channel = buffer.getChannelData(0);
    for (let i = 0; i < count; i += 1) {
      channel[i] = wire.getInt16(i * 2, false) / 32768;
      stats.receivedPeak = Math.max(stats.receivedPeak, Math.abs(channel[i]));
    }
    stats.receivedSamples += count;
    const source = context.createBufferSource();
    source.buffer = buffer;
    source.connect(context.destination);
    playhead = Math.max(playhead, context.currentTime);
    source.start(playhead);
    playhead += buffer.duration;
    playing.add(source);
    lastSource = source;
    source.addEventListener("ended", () => {
      if (playing.delete(source)) stats.playedSamples += count;
      if (lastSource === source) lastSource = null;
      show();
    });
  }

  function markAfterAudio(name) {
    const acknowledge = () => {
      stats.marks += 1;
      send({ event: "mark", mark: { name } });
      show();
    };
    if (lastSource === null) acknowledge();
    else lastSource.addEventListener("ended", acknowledge);
  }

  function clear() {
    stats.cleared += 1;
    const queued = [...playing];
    playing = new Set();
    for (const source of queued) source.stop();
    playhead = context.currentTime;
  }

  function receive(message) {
    if (message.event === "media") play(message.media.payload);
    else if (message.event === "mark") markAfterAudio(message.mark.name);
    else if (message.event === "clear") clear();
    show();
  }

  function say(who, text) {
    const line = document.createElement("li");
    line.className = who;
    line.textContent = `${who === "ivr" ? "IVR" : "You"}: ${text}`;
    $("transcript").append(line);
  }

  async function poll() {
    const response = await fetch(`${root.dataset.start}/${encodeURIComponent(stats.call)}/transcript?after=${after}`, {
      credentials: "same-origin",
    });
    if (!response.ok) return;
    const update = await response.json();
    after = update.after;
    stats.node = update.node;
    stats.ended = update.ended;
    for (const line of update.lines) {
      say(line.who, line.text);
      if (line.ref) {
        stats.ref = line.ref;
        $("ref").textContent = line.ref;
      }
    }
    if (stats.ended && stats.state === "ended") {
      clearInterval(polling);
      polling = null;
    }
  }

  async function call() {
    stats.state = "calling";
    show();
    $("transcript").replaceChildren();
    $("ref").textContent = "none yet";
    Object.assign(stats, { ref: null, ended: false, node: null, sentSamples: 0, receivedSamples: 0,
      playedSamples: 0, receivedPeak: 0, marks: 0, cleared: 0 });
    try {
      context = new AudioContext({ sampleRate: RATE });
      await context.audioWorklet.addModule(root.dataset.capture);
      const media = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: true, noiseSuppression: false, autoGainControl: false },
      });
      const response = await fetch(root.dataset.start, {
        method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": root.dataset.csrf },
      });
      if (!response.ok) throw new Error(`the call did not start (HTTP ${response.status})`);
      const started = await response.json();
      stats.call = started.call;
      $("call-id").textContent = started.call;
      streamSid = `MZ${crypto.randomUUID().replaceAll("-", "")}`;
      sequence = 0;
      after = 0;
      playhead = 0;
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      socket = new WebSocket(`${scheme}//${location.host}${started.stream}`);
      socket.addEventListener("open", () => {
        socket.send(JSON.stringify({ event: "connected", protocol: "Call", version: "1.0.0" }));
        send({
          event: "start",
          start: {
            streamSid, callSid: started.call, tracks: ["inbound"],
            customParameters: { token: started.token },
            mediaFormat: { encoding: "audio/l16", sampleRate: RATE, channels: 1 },
          },
        });
        const capture = new AudioWorkletNode(context, "phone-capture", { processorOptions: { frame: FRAME } });
        capture.port.onmessage = (event) => sendFrame(event.data);
        const mute = context.createGain();
        mute.gain.value = 0;
        microphone = { media, source: context.createMediaStreamSource(media), capture };
        microphone.source.connect(capture).connect(mute).connect(context.destination);
        stats.state = "in call";
        show();
      });
      socket.addEventListener("message", (event) => receive(JSON.parse(event.data)));
      socket.addEventListener("close", () => ended());
      polling = setInterval(poll, POLL_MS);
    } catch (error) {
      stats.state = "ended";
      say("ivr", `(${error.message})`);
      ended();
    }
  }

  function ended() {
    if (microphone) {
      microphone.capture.port.onmessage = null;
      microphone.source.disconnect();
      for (const track of microphone.media.getTracks()) track.stop();
      microphone = null;
    }
    if (context) context.close();
    context = null;
    lastSource = null;
    playing = new Set();
    socket = null;
    stats.state = "ended";
    show();
    if (stats.call) poll();
  }

  function hangUp() {
    send({ event: "stop", stop: { callSid: stats.call } });
    if (socket) socket.close();
  }

  $("call").addEventListener("click", call);
  $("hang-up").addEventListener("click", hangUp);
  for (const key of keys) {
    key.addEventListener("click", () => send({ event: "dtmf", dtmf: { track: "inbound_track", digit: key.dataset.key } }));
  }
  show();
})();
