import CFFmpeg
import Foundation
import MouthpieceCore

/// Writes an MP4: H.264 (libx264, yuv420p) video from RGB frames, and the audio of a source file
/// re-encoded to AAC, interleaved, with the index at the front (`faststart`).
///
/// Frame `n` is stamped `n / fps` exactly, so players and ffprobe see the requested rate. Owns every
/// FFmpeg object it opens until `finish()` or deinit. One writer belongs to one task.
public final class VideoWriter {
    /// Encoder settings; the defaults suit a talking head.
    public struct Settings: Sendable {
        public var width: Int
        public var height: Int
        public var frameRate: FrameRate
        /// Whole frames per second (rounded, for a fractional rate).
        public var fps: Int { max(1, Int(frameRate.perSecond.rounded())) }
        /// libx264 preset: `ultrafast` ... `veryslow`.
        public var preset: String
        /// Constant rate factor: lower is better quality and larger files.
        public var crf: Int
        /// Encoder threads; 0: one a core (at most 8).
        public var threads: Int
        /// Threads split each frame into slices (true) rather than encode several frames at once:
        /// no frame of delay per thread and about 50-70 MB less at 1080p (no frames held per
        /// thread), for about 2 % more bytes at the same quality and up to 10 % more wall time on
        /// 2 cores (measured at 1080p48, veryfast, crf 20: PSNR 47.27 against 47.26 dB, 276 MB
        /// peak against 324 MB with 2 frame threads and 349 MB with x264's own count). The default
        /// is (nil) slices except for the two fastest presets, whose frames take little memory anyway.
        public var slicedThreads: Bool?

        /// Whether the encoder splits frames into slices: `slicedThreads`, or by the preset.
        var usesSlices: Bool { slicedThreads ?? !["ultrafast", "superfast"].contains(preset) }
        /// Container metadata tags (title, comment, ...).
        public var metadata: [String: String]
        /// Cut the audio where the video ends, and pad it with silence up to there (false: the
        /// audio is carried over whole, whatever the video's length).
        public var audioMatchesVideo = false

        public init(
            width: Int, height: Int, fps: Int, preset: String = "veryfast", crf: Int = 20, threads: Int = 0,
            metadata: [String: String] = [:]
        ) {
            self.width = width
            self.height = height
            self.frameRate = FrameRate(max(1, fps))
            self.preset = preset
            self.crf = crf
            self.threads = threads
            self.metadata = metadata
        }
    }

    public let settings: Settings
    public private(set) var framesWritten = 0
    /// When the encoder gave its first video packet (nil before).
    public private(set) var firstVideoPacket: ContinuousClock.Instant?

    private var output: UnsafeMutablePointer<AVFormatContext>?
    private var video: UnsafeMutablePointer<AVCodecContext>?
    private var audio: UnsafeMutablePointer<AVCodecContext>?
    private var videoStream: UnsafeMutablePointer<AVStream>?
    private var audioStream: UnsafeMutablePointer<AVStream>?
    private var yuv: UnsafeMutablePointer<AVFrame>?
    private var audioFrame: UnsafeMutablePointer<AVFrame>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    /// The source of the audio, or nil for a silent track as long as the video.
    private let audioReader: AudioReader?
    private var pendingAudio: [Float] = []
    private var audioSamplesSent = 0
    private var audioFinished = false
    private var finished = false
    private let audioChannels: Int
    private let audioRate: Int
    private var drawing: FrameFilter?

    /// Opens `path` for writing. The audio of `audioPath` is carried over whole; with no audio
    /// path the file gets a silent track as long as the video. With `burnCaptions` (an SRT file)
    /// the captions are drawn into every frame, and so is a `watermark`.
    public init(
        path: String, settings: Settings, audioPath: String?, burnCaptions subtitles: String? = nil,
        watermark: Watermark? = nil
    ) throws {
        _ = FFmpegLogging.quiet
        self.settings = settings
        if subtitles != nil || watermark != nil {
            drawing = try FrameFilter(
                subtitles: subtitles, watermark: watermark, width: settings.width, height: settings.height,
                fps: settings.fps)
        }
        guard settings.width % 2 == 0, settings.height % 2 == 0 else {
            throw MouthpieceError(.invalidParameter, "Frame size must be even and fps positive.")
        }
        // AAC wants one of its standard rates; other rates are resampled to 48 kHz.
        if let audioPath {
            let probe = try AudioReader(path: audioPath, sampleRate: 48_000, channels: 1)
            let standard = [
                96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000,
            ]
            audioRate = standard.contains(probe.info.sampleRate) ? probe.info.sampleRate : 48_000
            audioChannels = min(2, probe.info.channels)
            audioReader = try AudioReader(path: audioPath, sampleRate: audioRate, channels: audioChannels)
        } else {
            audioRate = 48_000
            audioChannels = 1
            audioReader = nil
        }

        let failed = { (what: String, status: Int32) in
            MouthpieceError(.encodingFailed, "\(what) failed: \(ffmpegMessage(status)).")
        }
        var status = avformat_alloc_output_context2(&output, nil, "mp4", path)
        guard status >= 0, let output else { throw failed("Opening the MP4 muxer", status) }
        for (key, value) in settings.metadata.sorted(by: { $0.key < $1.key }) {
            av_dict_set(&output.pointee.metadata, key, value, 0)
        }

        // Video: libx264, yuv420p, time base 1/fps; audio: FFmpeg's native AAC encoder.
        let video = try Encoders.x264(
            width: settings.width, height: settings.height, rate: settings.frameRate, gop: settings.fps * 2,
            threads: settings.threads > 0 ? settings.threads : min(8, ProcessInfo.processInfo.activeProcessorCount),
            slices: settings.usesSlices, options: [("preset", settings.preset), ("crf", String(settings.crf))])
        self.video = video
        videoStream = try Encoders.stream(in: output, for: video)
        let audio = try Encoders.aac(
            sampleRate: audioRate, channels: audioChannels, bitRate: audioChannels == 1 ? 96_000 : 160_000)
        self.audio = audio
        audioStream = try Encoders.stream(in: output, for: audio)

        // Buffers reused for every frame.
        yuv = try Encoders.frame(for: video)
        audioFrame = try Encoders.frame(for: audio)
        packet = av_packet_alloc()
        guard packet != nil else { throw MouthpieceError(.internalError, "Out of memory.") }

        status = avio_open(&output.pointee.pb, path, AVIO_FLAG_WRITE)
        guard status >= 0 else {
            throw MouthpieceError(
                .outputNotWritable, "Cannot write \(path): \(ffmpegMessage(status)).", field: "output")
        }
        var muxOptions: OpaquePointer? = nil
        av_dict_set(&muxOptions, "movflags", "+faststart", 0)
        status = avformat_write_header(output, &muxOptions)
        av_dict_free(&muxOptions)
        guard status >= 0 else { throw failed("Writing the MP4 header", status) }
    }

    deinit {
        if let output, output.pointee.pb != nil { avio_closep(&output.pointee.pb) }
        avformat_free_context(output)
        avcodec_free_context(&video)
        avcodec_free_context(&audio)
        av_frame_free(&yuv)
        av_frame_free(&audioFrame)
        av_packet_free(&packet)
    }

    /// Encodes one YUV frame of exactly the configured size.
    ///
    /// `changed` (x0, y0, x1, y1, exclusive ends, in luma pixels) promises that every pixel outside
    /// it equals the previous frame's: only that region is copied into the encoder's picture.
    /// Pass nil when anything may have changed.
    public func append(_ frame: YUVImage, changed: (x0: Int, y0: Int, x1: Int, y1: Int)? = nil) throws {
        precondition(frame.width == settings.width && frame.height == settings.height, "frame size changed")
        guard let yuv else { return }
        guard av_frame_make_writable(yuv) >= 0 else { throw MouthpieceError(.internalError, "Out of memory.") }
        var region = (x0: 0, y0: 0, x1: frame.width, y1: frame.height)
        if framesWritten > 0, let changed {
            // Even bounds, so that the chroma region is exactly half the luma region.
            region = (
                max(0, changed.x0) & ~1, max(0, changed.y0) & ~1, min(frame.width, (changed.x1 + 1) & ~1),
                min(frame.height, (changed.y1 + 1) & ~1)
            )
        }
        if region.x1 > region.x0 && region.y1 > region.y0 {
            copy(frame.y, width: frame.width, into: 0, region)
            let half = (region.x0 / 2, region.y0 / 2, region.x1 / 2, region.y1 / 2)
            copy(frame.u, width: frame.chromaWidth, into: 1, half)
            copy(frame.v, width: frame.chromaWidth, into: 2, half)
        }
        yuv.pointee.pts = Int64(framesWritten)
        framesWritten += 1
        if let drawing {
            // Drawn on a copy: the persistent picture stays clean for the next frame's update.
            let drawn = try drawing.burn(yuv)
            drawn.pointee.pts = yuv.pointee.pts
            try encode(video, frame: drawn, stream: videoStream)
        } else {
            try encode(video, frame: yuv, stream: videoStream)
        }
        // Keep the audio about half a second ahead of the video so the muxer can interleave.
        try feedAudio(until: settings.frameRate.seconds(ofFrame: framesWritten) + 0.5)
    }

    /// Copies rows `y0..<y1`, columns `x0..<x1` of a tightly packed plane into plane `index` of the
    /// encoder's picture.
    private func copy(_ source: [UInt8], width: Int, into index: Int, _ r: (x0: Int, y0: Int, x1: Int, y1: Int)) {
        guard let yuv else { return }
        let (destination, stride) = plane(yuv, index)
        source.withUnsafeBufferPointer { src in
            for row in r.y0..<r.y1 {
                (destination + row * stride + r.x0).update(
                    from: src.baseAddress! + row * width + r.x0, count: r.x1 - r.x0)
            }
        }
    }

    /// Flushes both encoders and writes the index. The file is complete when this returns.
    public func finish() throws {
        guard !finished, let output else { return }
        finished = true
        try encode(video, frame: nil, stream: videoStream)
        try feedAudio(until: .infinity)
        try encode(audio, frame: nil, stream: audioStream)
        var status = av_write_trailer(output)
        guard status >= 0 else {
            throw MouthpieceError(.encodingFailed, "Writing the MP4 index failed: \(ffmpegMessage(status)).")
        }
        status = avio_closep(&output.pointee.pb)
        guard status >= 0 else {
            throw MouthpieceError(.outputNotWritable, "Closing the output failed: \(ffmpegMessage(status)).")
        }
    }

    private func feedAudio(until seconds: Double) throws {
        guard let audio, let audioFrame else { return }
        let frameSize = Int(audio.pointee.frame_size)
        // A silent track, or audio matched to the video, ends exactly where the video written so
        // far ends; the source's own audio otherwise runs to its end.
        let padded = audioReader == nil || settings.audioMatchesVideo
        let videoEnd = Int(settings.frameRate.seconds(ofFrame: framesWritten) * Double(audioRate))
        let limit = padded ? min(seconds, Double(videoEnd) / Double(audioRate)) : seconds
        while Double(audioSamplesSent) / Double(audioRate) < limit {
            while pendingAudio.count < frameSize * audioChannels {
                if let audioReader, !audioFinished {
                    if let chunk = try audioReader.next() {
                        pendingAudio.append(contentsOf: chunk)
                    } else {
                        audioFinished = true
                    }
                } else if padded {
                    // Silence, up to the end of the video written so far.
                    let missing = videoEnd - audioSamplesSent - pendingAudio.count / audioChannels
                    if missing <= 0 { break }
                    pendingAudio.append(
                        contentsOf: [Float](repeating: 0, count: min(missing, frameSize) * audioChannels))
                } else {
                    break
                }
            }
            var available = min(frameSize, pendingAudio.count / audioChannels)
            if padded { available = min(available, videoEnd - audioSamplesSent) }
            // Only the last frame may be short: the encoder pads a short frame with silence.
            if available <= 0 || (available < frameSize && seconds.isFinite) { break }
            guard av_frame_make_writable(audioFrame) >= 0 else {
                throw MouthpieceError(.internalError, "Out of memory.")
            }
            audioFrame.pointee.nb_samples = Int32(available)
            // Planar float: de-interleave into one plane per channel.
            pendingAudio.withUnsafeBufferPointer { samples in
                for channel in 0..<audioChannels {
                    let planePointer = UnsafeMutableRawPointer(audioFrame.pointee.extended_data[channel]!)
                        .assumingMemoryBound(to: Float.self)
                    for i in 0..<available { planePointer[i] = samples[i * audioChannels + channel] }
                }
            }
            pendingAudio.removeFirst(available * audioChannels)
            audioFrame.pointee.pts = Int64(audioSamplesSent)
            audioSamplesSent += available
            try encode(audio, frame: audioFrame, stream: audioStream)
        }
    }

    private func encode(
        _ codec: UnsafeMutablePointer<AVCodecContext>?, frame: UnsafeMutablePointer<AVFrame>?,
        stream: UnsafeMutablePointer<AVStream>?
    ) throws {
        guard let codec, let stream, let packet, let output else { return }
        try Encoders.encode(codec, frame: frame, packet: packet, stream: stream) { packet in
            if codec == video && firstVideoPacket == nil { firstVideoPacket = .now }
            let status = av_interleaved_write_frame(output, packet)
            guard status >= 0 else {
                throw MouthpieceError(.outputNotWritable, "Writing the video failed: \(ffmpegMessage(status)).")
            }
        }
    }
}
