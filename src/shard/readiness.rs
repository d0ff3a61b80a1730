//! When a client socket has something to read: one epoll instance per core,
//! as Redis's event loop has, inside glommio's.
//!
//! glommio learns that a socket became readable with one `POLL_ADD` per
//! read: a submission to arm it, io_uring task work to complete it and a
//! completion to reap, for every connection on every read. `bench/syscalls`
//! put that at 7% of a request's CPU at P16 and 11% at P1, where Redis pays
//! for one `epoll_wait` per turn of its loop, whatever the number of ready
//! sockets.
//!
//! Here each client socket is registered once, edge-triggered, in its core's
//! epoll instance, and the core's executor sleeps in that instance (glommio
//! adds its rings to it: `glommio::net::sleep_in_epoll`). One `epoll_wait`
//! per turn of the executor, the sleep itself when there is nothing to do,
//! collects every ready socket and wakes their connections, which `recv`
//! without blocking. An earlier version waited on the epoll instance from
//! glommio's ring (a `POLL_ADD` per turn) and then collected it: two system
//! calls and a completion per turn, where Redis's event loop makes one.
//!
//! Edge-triggered means one event per arrival of data, not one while data
//! is waiting; so a connection waits only once `recv` found its socket
//! empty (it returned less than asked, or `EAGAIN`), and any data that
//! arrives after that `recv` brings a new event. A stale event (for data
//! already read, or for a connection gone whose token was reused) only
//! costs a `recv` that finds nothing.

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::task::{Poll, Waker};

/// Whether an event came for a connection since it last looked, and what
/// to wake when one does.
#[derive(Default)]
struct Flag {
    ready: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Flag {
    fn raise(&self) {
        self.ready.set(true);
        if let Some(waker) = self.waker.borrow_mut().take() {
            waker.wake();
        }
    }

    /// Completes once an event came, and consumes it.
    async fn lowered(&self) {
        poll_fn(|cx| {
            if self.ready.replace(false) {
                return Poll::Ready(());
            }
            let mut waker = self.waker.borrow_mut();
            if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *waker = Some(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }
}

/// One core's epoll instance and the connections registered in it, by
/// token (the index into `flags`, reused once free).
pub struct Readiness {
    epoll: OwnedFd,
    flags: RefCell<Vec<Option<Rc<Flag>>>>,
    free: RefCell<Vec<usize>>,
}

impl Readiness {
    pub fn new() -> io::Result<Rc<Readiness>> {
        // SAFETY: plain system call; the descriptor is checked and owned.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Rc::new(Readiness {
            // SAFETY: `fd` was just created and nothing else owns it.
            epoll: unsafe { OwnedFd::from_raw_fd(fd) },
            flags: RefCell::new(Vec::new()),
            free: RefCell::new(Vec::new()),
        }))
    }

    /// Registers a socket (non-blocking reads are done with `MSG_DONTWAIT`,
    /// whatever its mode); it stays registered until the `Registration` is
    /// dropped, which must happen before the socket is closed.
    pub fn register(self: &Rc<Self>, fd: RawFd) -> io::Result<Registration> {
        let flag = Rc::new(Flag::default());
        let token = match self.free.borrow_mut().pop() {
            Some(token) => {
                self.flags.borrow_mut()[token] = Some(flag.clone());
                token
            }
            None => {
                let mut flags = self.flags.borrow_mut();
                flags.push(Some(flag.clone()));
                flags.len() - 1
            }
        };
        let mut event = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLET) as u32,
            u64: token as u64,
        };
        // SAFETY: `event` outlives the call; the kernel copies it.
        let result =
            unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut event) };
        if result < 0 {
            let error = io::Error::last_os_error();
            self.release(token);
            return Err(error);
        }
        Ok(Registration {
            readiness: self.clone(),
            token,
            fd,
            flag,
            drained: false,
        })
    }

    fn release(&self, token: usize) {
        if let Some(entry) = self.flags.borrow_mut().get_mut(token) {
            *entry = None;
            self.free.borrow_mut().push(token);
        }
    }

    fn raise(&self, token: usize) {
        let flag = self.flags.borrow().get(token).and_then(|flag| flag.clone());
        if let Some(flag) = flag {
            flag.raise();
        }
    }

    /// Makes this core's executor sleep in the epoll instance and hand
    /// every event to the connection it is for; for the life of the core.
    pub fn install(self: &Rc<Self>) -> io::Result<()> {
        let readiness = self.clone();
        glommio::net::sleep_in_epoll(
            self.epoll.as_raw_fd(),
            Box::new(move |token| readiness.raise(token as usize)),
        )
    }
}

/// A registered socket, read through its core's epoll instance.
pub struct Registration {
    readiness: Rc<Readiness>,
    token: usize,
    fd: RawFd,
    flag: Rc<Flag>,
    /// The last `recv` found the socket empty: wait for an event first.
    drained: bool,
}

impl Registration {
    /// Reads what the socket has into `buf`, waiting for it if it has
    /// nothing yet: how many bytes it wrote there, 0 at end of stream.
    pub async fn read(&mut self, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
        loop {
            if self.drained {
                self.flag.lowered().await;
            }
            // SAFETY: `buf` is valid for writes of its length; the kernel
            // only writes to it. A raw system call, because libc's `recv`
            // is a cancellation point and switches cancellation off and on
            // around the call, every call.
            let count = unsafe {
                libc::syscall(
                    libc::SYS_recvfrom,
                    self.fd,
                    buf.as_mut_ptr(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                    std::ptr::null_mut::<libc::sockaddr>(),
                    std::ptr::null_mut::<libc::socklen_t>(),
                )
            };
            if count >= 0 {
                let count = count as usize;
                self.drained = count < buf.len();
                return Ok(count);
            }
            let error = io::Error::last_os_error();
            match error.kind() {
                io::ErrorKind::WouldBlock => self.drained = true,
                io::ErrorKind::Interrupted => {}
                _ => return Err(error),
            }
        }
    }
}

/// Sends as much of `bytes` as the socket takes now, without waiting: how
/// many it took (0 when its buffer is full). A raw system call, as in
/// `Registration::read`; `MSG_NOSIGNAL`, so a closed peer is an error
/// (EPIPE), not a signal.
pub fn send_now(fd: RawFd, bytes: &[u8]) -> io::Result<usize> {
    loop {
        // SAFETY: `bytes` is valid for reads of its length.
        let count = unsafe {
            libc::syscall(
                libc::SYS_sendto,
                fd,
                bytes.as_ptr(),
                bytes.len(),
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                std::ptr::null::<libc::sockaddr>(),
                0 as libc::socklen_t,
            )
        };
        if count >= 0 {
            return Ok(count as usize);
        }
        let error = io::Error::last_os_error();
        match error.kind() {
            io::ErrorKind::WouldBlock => return Ok(0),
            io::ErrorKind::Interrupted => {}
            _ => return Err(error),
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: the socket is still open (see `register`); a null event
        // is allowed for EPOLL_CTL_DEL.
        unsafe {
            libc::epoll_ctl(
                self.readiness.epoll.as_raw_fd(),
                libc::EPOLL_CTL_DEL,
                self.fd,
                std::ptr::null_mut(),
            );
        }
        self.readiness.release(self.token);
    }
}
