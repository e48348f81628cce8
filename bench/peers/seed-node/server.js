// The seed's relay (../../../../shared/seed/, in Chinese): express + ws, every text frame
// a client sends goes to every connected client, the sender included. Written from that
// description for the benchmark; the changes are the port (PORT, 0 = any free one,
// printed) so the suite can run it next to other servers, and `binary: isBinary` so a
// text frame is relayed as text (ws 8 would send the Buffer as binary).
const express = require("express");
const SocketServer = require("ws").Server;

const PORT = Number(process.env.PORT ?? 3000);
const server = express().listen(PORT, "127.0.0.1", () =>
  console.log(`Listening on ${server.address().port}`)
);
const wss = new SocketServer({ server });

wss.on("connection", (ws) => {
  console.log("Client connected");
  ws.on("message", (data, isBinary) => {
    // ws 8 hands over a Buffer; pass the frame's kind on, so text stays text.
    wss.clients.forEach((client) => client.send(data, { binary: isBinary }));
  });
  ws.on("close", () => console.log("Close connected"));
});
