// civicline browser phone: the microphone's samples in frames of 20 ms as 16-bit integers.
// Runs in the AudioWorklet at the context's rate (16 kHz); phone.js sends each frame.
"use strict";

class PhoneCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.frame = options.processorOptions.frame;
    this.samples = new Int16Array(this.frame);
    this.filled = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (channel) {
      for (const value of channel) {
        this.samples[this.filled++] = Math.round(Math.max(-1, Math.min(1, value)) * 32767);
        if (this.filled === this.frame) {
          this.port.postMessage(this.samples.buffer, [this.samples.buffer]);
          this.samples = new Int16Array(this.frame);
          this.filled = 0;
        }
      }
    }
    return true;
  }
}

registerProcessor("phone-capture", PhoneCapture);
