// Reading the QR label with the device's camera, through the browser's BarcodeDetector.
// Where the browser has none (desktop Linux, Firefox), the page says so and the token is
// pasted instead.

export async function scanQr(video, timeoutMs = 60000) {
  if (!("BarcodeDetector" in window)) {
    throw new Error("this browser cannot read QR codes; paste the token printed under the label");
  }
  const formats = await window.BarcodeDetector.getSupportedFormats();
  if (!formats.includes("qr_code")) throw new Error("this browser's barcode reader cannot read QR codes; paste the token");
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new Error("no camera access here (the page must be opened over HTTPS); paste the token");
  }
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
  video.srcObject = stream;
  video.hidden = false;
  await video.play();
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      const codes = await detector.detect(video);
      if (codes.length) return codes[0].rawValue;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error("no QR code seen in 60 s");
  } finally {
    stream.getTracks().forEach((t) => t.stop());
    video.hidden = true;
    video.srcObject = null;
  }
}
