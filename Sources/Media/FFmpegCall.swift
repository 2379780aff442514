// Small helpers shared by every FFmpeg call site in this module.
import CFFmpeg
import MouthpieceCore

/// FFmpeg's message for an error number.
func ffmpegMessage(_ status: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    av_strerror(status, &buffer, buffer.count)
    return String(cBuffer: buffer)
}

/// Process-wide FFmpeg set-up: only errors reach the terminal.
enum FFmpegLogging {
    static let quiet: Void = { mp_silence_logs() }()
}

/// Pixel data of an AVFrame plane, as a typed pointer. The frame must outlive the use.
@inline(__always)
func plane(_ frame: UnsafeMutablePointer<AVFrame>, _ index: Int) -> (UnsafeMutablePointer<UInt8>, Int) {
    let data: UnsafeMutablePointer<UInt8>?
    let size: Int32
    switch index {
    case 0: (data, size) = (frame.pointee.data.0, frame.pointee.linesize.0)
    case 1: (data, size) = (frame.pointee.data.1, frame.pointee.linesize.1)
    default: (data, size) = (frame.pointee.data.2, frame.pointee.linesize.2)
    }
    return (data!, Int(size))
}
