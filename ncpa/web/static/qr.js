// Reading the QR label with the device's camera: the browser's BarcodeDetector where it
// has one (Android, ChromeOS, macOS), else jsQR (Apache-2.0, jsQR.js beside this file,
// loaded only when needed) on frames drawn from the video.

const TIMEOUT_MS = 60000;

async function detectorOf() {
  if ("BarcodeDetector" in window) {
    const formats = await window.BarcodeDetector.getSupportedFormats();
    if (formats.includes("qr_code")) {
      const d = new window.BarcodeDetector({ formats: ["qr_code"] });
      return async (video) => {
        const codes = await d.detect(video);
        return codes.length ? codes[0].rawValue : null;
      };
    }
  }
  await import("./jsQR.js"); // a UMD bundle: it sets self.jsQR
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  return async (video) => {
    const w = video.videoWidth;
    const h = video.videoHeight;
    if (!w || !h) return null;
    canvas.width = w;
    canvas.height = h;
    ctx.drawImage(video, 0, 0, w, h);
    const code = window.jsQR(ctx.getImageData(0, 0, w, h).data, w, h, { inversionAttempts: "dontInvert" });
    return code ? code.data : null;
  };
}

export async function scanQr(video) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new Error("no camera access here (open the page over HTTPS); paste the token instead");
  }
  const detect = await detectorOf();
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  } catch (e) {
    throw new Error(`the camera could not be opened (${e.name}); paste the token instead`);
  }
  video.srcObject = stream;
  video.hidden = false;
  try {
    await video.play();
    const deadline = Date.now() + TIMEOUT_MS;
    while (Date.now() < deadline) {
      const text = await detect(video);
      if (text && text.startsWith("v1.")) return text;
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error("no QR label seen in 60 s; paste the token instead");
  } finally {
    stream.getTracks().forEach((t) => t.stop());
    video.hidden = true;
    video.srcObject = null;
  }
}
