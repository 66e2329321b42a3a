// Saves one machine's pcap (base64 from exportBootPcap) as a file download: a Blob behind an
// object URL and a clicked link, which both a browser and Electron's window turn into a download.
export function downloadBase64(filename: string, base64: string, type = 'application/vnd.tcpdump.pcap'): void {
  const binary = atob(base64)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  const url = URL.createObjectURL(new Blob([bytes], { type }))
  const link = document.createElement('a')
  link.href = url
  link.download = filename
  link.style.display = 'none'
  document.body.append(link)
  link.click()
  link.remove()
  // The download has taken the URL by the next tasks; revoking at once can cancel it in Chromium.
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}
